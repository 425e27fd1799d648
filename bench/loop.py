"""How long the event loop was kept from running: what the bot's other chats would wait."""

from __future__ import annotations

import asyncio


class LoopLag:
    """The longest the event loop was kept from running a 10 ms ticker: what the bot's
    other chats would wait while a big file is imported or written."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self, interval: float = 0.01) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + interval
            await asyncio.sleep(interval)
            self.worst = max(self.worst, loop.time() - planned)
