"""A real IMAP server for tests: pymap's in-memory backend on 127.0.0.1, port 0.

Run as ``python -m tests.fakes.imap_server USER PASSWORD``; it prints the port it
listens on, then serves until killed. ``ImapServer`` starts and stops it for a test.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from types import TracebackType
from typing import Any


def main() -> None:
    from pymap.main import main as pymap_main

    user, password = sys.argv[1], sys.argv[2]
    original = asyncio.start_server

    async def start_server(*args: Any, **kwargs: Any) -> asyncio.Server:
        server = await original(*args, **kwargs)
        print(server.sockets[0].getsockname()[1], flush=True)
        return server

    asyncio.start_server = start_server  # type: ignore[assignment]
    sys.argv = [
        "pymap", "--host", "127.0.0.1", "--port", "0", "--no-tls",
        "dict", "--demo-user", user, "--demo-password", password,
    ]  # fmt: skip
    pymap_main()


class ImapServer:
    """``with ImapServer("bounces", "secret") as server: server.port``."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ImapServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.imap_server", self.user, self.password],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self._process.kill()
            raise RuntimeError(f"pymap did not start: {line!r}")
        self.port = int(line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


if __name__ == "__main__":
    main()
