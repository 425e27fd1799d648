"""aiogram routers, filters, middlewares and texts: the bot's conversation layer."""

from __future__ import annotations

from aiogram import F, Router

from handlers import (
    admin_roles,
    common,
    fallback,
    lists,
    lists_import,
    mailing_launch,
    mailing_steps,
    mailings,
    sendsay_admin,
    stats,
    subscribers,
    templates,
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
        common.create_router(),
        templates.create_router(),
        mailings.create_router(),
        mailing_launch.create_router(),
        stats.create_router(),
        mailing_steps.create_router(),  # before lists_import: content may be a document
        lists_import.create_router(),  # before lists: it takes the import buttons
        lists.create_router(),
        subscribers.create_router(),
        fallback.create_router(),
    )
    return root
