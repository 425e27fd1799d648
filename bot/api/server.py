"""uvicorn in the caller's event loop: ``start`` binds (port 0: any free port, read
back) and serves in a task; ``stop`` lets requests in flight finish.

uvicorn's own signal handling is switched off: the bot decides when to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from bot.settings import ConfigError

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 10


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the bot's own handlers stay in charge of SIGINT/SIGTERM


class ApiServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        sock = self._bind()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            loop="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_graceful_shutdown=STOP_GRACE_SECONDS,
        )
        self._server = server = _Server(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._task.done():
                await self._task  # start-up failed: raise its error
                raise ConfigError("API_PORT: the API server stopped at start")
            await asyncio.sleep(0.01)
        self.listening.set()
        log.info("HTTP API listens on %s:%s", self.host, self.port)

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"API_PORT: cannot listen on {self.host}:{self.port} ({exc.strerror or exc})"
            ) from None
        sock.set_inheritable(True)
        return sock

    async def stop(self) -> None:
        self.listening.clear()
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None
