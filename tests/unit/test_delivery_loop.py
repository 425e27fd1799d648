"""The delivery thread's event loop is uvloop's (a dependency on every platform but
Windows): a paid broadcast spends most of its CPU in the loop and its transports."""

from __future__ import annotations

import asyncio

import uvloop

from bot.delivery import delivery_loop


def test_the_delivery_thread_runs_on_uvloop() -> None:
    loop = delivery_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        loop.close()
