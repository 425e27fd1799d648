"""The delivery thread's event loop is uvloop's (a dependency on every platform but
Windows): a paid broadcast spends most of its CPU in the loop and its transports. Starting
it lowers the interpreter's switch interval, so the bot's loop waits less for the GIL."""

from __future__ import annotations

import asyncio
import sys

import uvloop

from bot.delivery import SWITCH_INTERVAL, delivery_loop, share_interpreter


def test_the_delivery_thread_runs_on_uvloop() -> None:
    loop = delivery_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        loop.close()


def test_the_bot_loop_gets_the_interpreter_back_within_a_millisecond() -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        share_interpreter()
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        sys.setswitchinterval(SWITCH_INTERVAL / 2)  # a smaller one set by the user stays
        share_interpreter()
        assert sys.getswitchinterval() == SWITCH_INTERVAL / 2
    finally:
        sys.setswitchinterval(before)
