"""aiogram routers, filters, middlewares and texts: the bot's conversation layer.

Conventions:

- A handler takes what it needs by parameter name: the event, ``user`` (the caller, from
  ``UserMiddleware``), ``state``, ``callback_data``, ``bot``, ``message`` (the message a
  button is on, from the ``ButtonMessage`` filter) and ``services: Services``
  (``handlers/services.py``) for everything built at start-up, the clock included. A new
  dependency is a new field of ``Services``, built in ``bot/app.py``.
- A button is a ``CallbackData`` with an enum ``action``; each action has its own handler,
  registered with ``XCD.filter(F.action == XAct.y)``. Values of those enums are in messages
  already sent: add new ones, never rename one. Data no handler accepts (forged, stale)
  reach ``fallback``, which answers that the button is outdated.
- Handlers call use cases; rules belong in ``domain`` with unit tests.
"""

from __future__ import annotations

from aiogram import F, Router

from handlers import (
    admin_roles,
    answers,
    api_tokens,
    common,
    fallback,
    follow_ups,
    lists,
    lists_import,
    lists_segments,
    lists_tags,
    mailing_ab,
    mailing_cancel,
    mailing_launch,
    mailing_local_time,
    mailing_segment,
    mailing_steps,
    mailing_tracking,
    mailings,
    sendsay_admin,
    stats,
    stats_engagement,
    stats_segments,
    subscribers,
    templates,
    webhooks,
)


def build_router() -> Router:
    """All feature routers under one root that only accepts private chats.

    Order matters: role routers first, the catch-all ``fallback`` last.
    """
    root = Router(name="mailforge")
    root.message.filter(F.chat.type == "private")
    root.callback_query.filter(F.message.chat.type == "private")
    root.include_routers(
        admin_roles.create_router(),
        sendsay_admin.create_router(),
        webhooks.create_router(),
        common.create_router(),
        api_tokens.create_router(),
        templates.create_router(),
        mailings.create_router(),
        mailing_launch.create_router(),
        stats.create_router(),
        follow_ups.create_router(),
        answers.create_router(),  # recipients' presses too: before fallback
        stats_engagement.create_router(),
        stats_segments.create_router(),
        mailing_cancel.create_router(),
        mailing_steps.create_router(),  # before lists_import: content may be a document
        mailing_tracking.create_router(),
        mailing_segment.create_router(),
        mailing_ab.create_router(),
        mailing_local_time.create_router(),
        lists_import.create_router(),  # before lists: it takes the import buttons
        lists_segments.create_router(),
        lists_tags.create_router(),
        lists.create_router(),
        subscribers.create_router(),
        fallback.create_router(),
    )
    return root
