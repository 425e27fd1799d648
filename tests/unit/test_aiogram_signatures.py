"""bot.slim_aiogram remembers each callback's parameters by its code: every handler and
filter of the bot's dispatcher must get what ``inspect.signature`` says, as aiogram would."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from typing import Any

from aiogram import Dispatcher, F, Router
from aiogram.dispatcher.event.handler import CallableObject, FilterObject, HandlerObject

from handlers import build_router


def aiogram_says(callback: Any) -> tuple[set[str], bool]:
    """aiogram's own reading of a callback (``CallableObject.__post_init__``)."""
    try:
        signature = inspect.signature(inspect.unwrap(callback))
    except (ValueError, TypeError):
        return set(), False
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    }
    parameters = signature.parameters.values()
    return (
        {p.name for p in parameters if p.kind in kinds},
        any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters),
    )


def wrapped(router: Router) -> Iterator[CallableObject]:
    for observer in router.observers.values():
        for handler in [observer._handler, *observer.handlers]:
            yield handler
            yield from handler.filters or []
    for child in router.sub_routers:
        yield from wrapped(child)


def test_every_handler_and_filter_of_two_bots_gets_its_own_parameters() -> None:
    assert CallableObject.__post_init__.__module__ == "bot.slim_aiogram"  # what is checked
    dispatchers = []
    for _ in range(2):  # the second one is answered from what the first taught
        dp = Dispatcher()
        dp.include_router(build_router())
        dispatchers.append(dp)
    seen = 0
    for dp in dispatchers:
        for wrapper in wrapped(dp):
            assert (wrapper.params, wrapper.varkw) == aiogram_says(wrapper.callback), wrapper
            seen += 1
    assert seen > 2000


def test_callables_the_code_does_not_describe_are_read_each_time() -> None:
    async def handler(message: object, state: object, **rest: object) -> None:
        return None

    def flagged(event: object, user: object) -> bool:
        return True

    flagged.__signature__ = inspect.signature(lambda event: None)  # type: ignore[attr-defined]

    class Named:
        def __call__(self, event: object, bot: object) -> bool:
            return True

    class Signed(Named):
        __signature__ = inspect.signature(lambda event, services: None)

    same_code = [functools.partial(handler, 1), handler, flagged, Named(), Signed(), print]
    for callback in same_code + same_code:
        for kind in (HandlerObject, FilterObject):
            wrapper = kind(callback)
            assert (wrapper.params, wrapper.varkw) == aiogram_says(callback), callback
    magic = FilterObject(F.text == "x")
    assert magic.params == {"value"}
    assert HandlerObject(handler).awaitable and not HandlerObject(flagged).awaitable
