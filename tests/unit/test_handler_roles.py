"""Every command and button checks the caller's role: each handler the bot registers has
a role filter (``handlers.filters``), on itself or on a router above it, except the few
that answer anyone on purpose. The chat side of one refusal per kind is in
``tests/e2e/test_access.py``; the use cases check the role again (``tests/unit``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aiogram import Router

from domain.users import Role
from handlers import build_router
from handlers.filters import RoleFilter, StrangerFilter

# handler -> why it answers whoever calls it
OPEN_ON_PURPOSE = {
    ("handlers.answers", "callback_query", "on_answer"): "recipients press a mailing's buttons",
    ("handlers.subscribers", "my_chat_member", "blocked"): "anyone may block the bot",
    ("handlers.fallback", "message", "anything"): "refuses strangers, helps staff",
    ("handlers.fallback", "callback_query", "stale_button"): "an alert, nothing changes",
}
ADMIN_ONLY_ROUTERS = ("handlers.admin_roles", "handlers.sendsay_admin", "handlers.webhooks")


@dataclass(frozen=True)
class Registered:
    router: str
    event: str
    handler: str
    roles: frozenset[Role] | None  # None: no role filter; empty: strangers only


def registered(router: Router, inherited: dict[str, list[object]]) -> Iterator[Registered]:
    here = {
        name: inherited.get(name, []) + [f.callback for f in observer._handler.filters or []]
        for name, observer in router.observers.items()
    }
    for name, observer in router.observers.items():
        for handler in observer.handlers:
            filters = here[name] + [f.callback for f in handler.filters or []]
            roles: frozenset[Role] | None = None
            for f in filters:
                if isinstance(f, RoleFilter):
                    roles = f.roles if roles is None else roles & f.roles
                elif isinstance(f, StrangerFilter):
                    roles = frozenset()
            yield Registered(router.name, name, handler.callback.__name__, roles)
    for sub in router.sub_routers:
        yield from registered(sub, here)


def test_every_handler_but_the_open_ones_filters_on_the_callers_role() -> None:
    handlers = list(registered(build_router(), {}))
    assert len(handlers) > 150  # the walk reaches the feature routers
    unguarded = {(h.router, h.event, h.handler) for h in handlers if h.roles is None}
    assert unguarded == set(OPEN_ON_PURPOSE)


def test_people_sendsay_and_webhooks_are_for_admins_only() -> None:
    handlers = [h for h in registered(build_router(), {}) if h.router in ADMIN_ONLY_ROUTERS]
    assert {h.router for h in handlers} == set(ADMIN_ONLY_ROUTERS)
    assert {h.roles for h in handlers} == {frozenset({Role.admin})}
