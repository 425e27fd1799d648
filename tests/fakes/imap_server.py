"""A real IMAP server for tests: pymap's in-memory backend on 127.0.0.1, port 0.

``ImapServer`` runs it in a thread of the test process, on that thread's own event loop,
so the client under test talks to it over a real socket exactly as to a server in
another process. (It ran as ``python -m pymap`` in a subprocess before: about 0.5 s of
CPU and 0.8 s of waiting per test, for importing pymap and starting Python again.)
"""

from __future__ import annotations

import asyncio
import threading
from argparse import ArgumentParser
from concurrent.futures import Future
from contextlib import AsyncExitStack
from types import TracebackType


class ImapServer:
    """``with ImapServer("bounces", "secret") as server: server.port``."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.port = 0
        self._started: Future[int] = Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve()), name="fake-imap", daemon=True
        )

    async def _serve(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                server = await self._start(stack)
                self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
                self._started.set_result(server.sockets[0].getsockname()[1])
                await self._stop.wait()
                server.close()
        except BaseException as exc:
            if not self._started.done():
                self._started.set_exception(exc)
            raise

    async def _start(self, stack: AsyncExitStack) -> asyncio.Server:
        """What ``pymap --host 127.0.0.1 --port 0 --no-tls dict --demo-user U
        --demo-password P`` does (pymap.main.run and IMAPService.start), in this loop."""
        from proxyprotocol.reader import ProxyProtocolReader
        from pymap.backend import backends
        from pymap.imap import IMAPServer, IMAPService

        parser = ArgumentParser()  # the defaults pymap's own parser sets
        parser.set_defaults(debug=False, passlib_cfg=None, skip_services=[])
        backend_parsers = parser.add_subparsers(dest="backend", required=True)
        backend_type = backends.get("dict")
        backend_type.add_subparser("dict", backend_parsers)
        IMAPService.add_arguments(parser)
        argv = [
            "--host", "127.0.0.1", "--port", "0", "--no-tls",
            "dict", "--demo-user", self.user, "--demo-password", self.password,
        ]  # fmt: skip
        args = parser.parse_args(argv)
        backend, config = await backend_type.init(args)
        config.apply_context()
        await backend.start(stack)
        handler = ProxyProtocolReader(config.proxy_protocol).get_callback(
            IMAPServer(backend.login, config)
        )
        return await asyncio.start_server(handler, host="127.0.0.1", port=0)

    def __enter__(self) -> ImapServer:
        self._thread.start()
        self.port = self._started.result(timeout=30)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
