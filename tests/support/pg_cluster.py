"""A private PostgreSQL cluster for tests that stop and start the database server.

``initdb`` into a temporary directory, ``pg_ctl`` on a free loopback port, trust for
``postgres``; the binaries come from ``PG_BIN`` or the newest ``/usr/lib/postgresql/*/bin``.
PostgreSQL refuses to run as root: as root the commands run as the ``postgres`` user
(``runuser``), which then owns the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    def __init__(self, directory: Path, binaries: Path) -> None:
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.directory, self.binaries = directory, binaries
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {out.decode(errors='replace')}")

    async def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        await self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        await self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    async def stop(self) -> None:
        """A fast shutdown: every client connection is cut, as in an outage."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@asynccontextmanager
async def private_cluster() -> AsyncIterator[PgCluster]:
    """A started cluster in a directory of its own (not under pytest's ``tmp_path``, which
    the ``postgres`` user cannot enter), stopped and removed at the end."""
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("no PostgreSQL server binaries (set PG_BIN)")
    directory = Path(tempfile.mkdtemp(prefix="mailforge-pg-"))
    cluster = PgCluster(directory, binaries)
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):  # not running
            await cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
