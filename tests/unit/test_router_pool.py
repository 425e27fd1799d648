"""bot.app.RouterPool lends the handlers' routers to one dispatcher at a time."""

from __future__ import annotations

from aiogram import Dispatcher

from bot.app import RouterPool


def test_a_router_given_back_serves_the_next_dispatcher_alone() -> None:
    pool = RouterPool()
    first, second = Dispatcher(), Dispatcher()
    router = first.include_router(pool.take())
    other = second.include_router(pool.take())  # both lent at once: another one is built
    assert other is not router
    pool.give_back(router)
    assert first.sub_routers == [] and router.parent_router is None
    third = Dispatcher()
    assert third.include_router(pool.take()) is router  # not built again
    assert [r.parent_router for r in (router, other)] == [third, second]
    assert list(third.chain_tail) == [third, *router.chain_tail]  # every handler router
    used = second.resolve_used_update_types()  # from a router built for it
    assert {"message", "callback_query"} <= set(used)
    assert third.resolve_used_update_types() == used and first.resolve_used_update_types() == []
