"""Fake peers of ``bench/delivery.py``, each in a process of its own.

On this 2-core machine a fake served from the benchmark's own event loop would take
CPU from the client it measures, so ``FakeProcess`` starts the fake in a child process
and talks to it over a pipe: ``call("sent")``, ``call("probe", user_id)`` and so on.

* ``smtp``: aiosmtpd on 127.0.0.1 that only counts what it accepts (no message kept) and
  when, and how long each connection waited between a letter's answer and its next
  MAIL (the client's own time: a pool kept fed waits little); ``smtp-auth`` the same,
  requiring AUTH (``USER`` / ``PASSWORD``) as a relay does.
* ``botapi``: ``tests.fakes.bot_api.FakeBotAPI`` that keeps no per-message state for
  bulk chats (ids >= ``BULK_CHAT_BASE``), records the arrival time of every send and of
  every 429 it answers, and measures ``/start`` round trips from its own side. A person
  can be played through it too (``say``, ``upload``, ``press``, ``wait``), as in the
  chat tests, so a whole journey runs against a real ``mailforge run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import sys
import threading
import time
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BULK_CHAT_BASE = 1_000_000_000
USER, PASSWORD = "bench", "bench-secret"  # the AUTH of ``smtp-auth``


class FakeProcess:
    def __init__(self, kind: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_main, args=(kind, child), daemon=True)
        self._process.start()
        self._lock = threading.Lock()  # one command at a time on the pipe
        self.port: int = self._conn.recv()

    async def call(self, command: str, *args: Any) -> Any:
        return await asyncio.to_thread(self._call, command, *args)

    def _call(self, command: str, *args: Any) -> Any:
        with self._lock:
            self._conn.send((command, args))
            ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"fake {command} failed: {value}")
        return value

    def cpu(self) -> float:
        """CPU seconds the fake's process has used."""
        import psutil

        times = psutil.Process(self._process.pid).cpu_times()
        return float(times.user + times.system)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(("stop", ()))
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _main(kind: str, conn: Connection) -> None:
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd warns on each AUTH
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")  # loopback
    asyncio.run(_serve(kind, conn))


async def _serve(kind: str, conn: Connection) -> None:
    fake: Any = await (_start_botapi() if kind == "botapi" else _start_smtp(kind == "smtp-auth"))
    conn.send(fake.port)
    loop = asyncio.get_running_loop()
    while True:
        command, args = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            await fake.stop()
            return
        try:
            value = getattr(fake, f"cmd_{command}")(*args)
            if asyncio.iscoroutine(value):
                value = await value
            conn.send((True, value))
        except Exception as exc:  # reported to the caller
            conn.send((False, f"{type(exc).__name__}: {exc}"))


# -- SMTP --------------------------------------------------------------------------------


async def _start_smtp(auth: bool) -> Any:
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

    class Counter:
        def __init__(self) -> None:
            self.accepted = 0
            self.times: list[float] = []
            self.waits: list[float] = []  # s between a letter's 250 and the next MAIL
            self.since = 0.0
            self.port = 0
            self.server: asyncio.Server | None = None

        async def handle_MAIL(
            self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
        ) -> str:
            answered = getattr(session, "answered", None)  # this connection's last letter
            if answered is not None and answered >= self.since:
                self.waits.append(time.monotonic() - answered)
            envelope.mail_from = address
            envelope.mail_options.extend(options)
            return "250 OK"

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            self.accepted += len(envelope.rcpt_tos)
            now = time.monotonic()
            self.times.append(now)
            session.answered = now  # type: ignore[attr-defined]
            return "250 2.0.0 Message accepted for delivery"

        def cmd_sent(self) -> int:
            return self.accepted

        def cmd_times(self) -> list[float]:
            return self.times

        def cmd_waits(self) -> list[float]:
            return self.waits

        def cmd_reset(self) -> None:
            self.accepted = 0
            self.times = []
            self.waits = []
            self.since = time.monotonic()

        async def stop(self) -> None:
            if self.server is not None:
                self.server.close()

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok)

    options: dict[str, Any] = (
        {"authenticator": check, "auth_required": True, "auth_require_tls": False} if auth else {}
    )
    counter = Counter()
    loop = asyncio.get_running_loop()
    counter.server = await loop.create_server(
        lambda: SMTP(counter, hostname="fake-smtp.test", loop=loop, **options), "127.0.0.1", 0
    )
    counter.port = int(counter.server.sockets[0].getsockname()[1])
    return counter


# -- Bot API -----------------------------------------------------------------------------


async def _start_botapi() -> Any:
    from tests.fakes.bot_api import FakeBotAPI
    from tests.fakes.bot_api_model import SentMessage

    class BenchBotAPI(FakeBotAPI):
        def __init__(self) -> None:
            super().__init__()
            self._trim_task: asyncio.Task[None] | None = None
            self.bulk_times: list[float] = []
            self.pressed_at: float | None = None

        async def start(self) -> None:
            await super().start()
            self._trim_task = asyncio.create_task(self._trim())

        async def _trim(self) -> None:
            while True:  # the request log would grow by every send: keep none of it
                await asyncio.sleep(1)
                self.requests.clear()

        async def stop(self) -> None:
            if self._trim_task is not None:
                self._trim_task.cancel()
            await super().stop()

        def _store_message(self, msg: SentMessage) -> None:
            if msg.chat_id >= BULK_CHAT_BASE:
                self.bulk_times.append(time.monotonic())
                return  # a bulk recipient: counted and timed, not kept
            super()._store_message(msg)

        # a person in the chat (the journeys of bench/delivery_e2e.py)
        def cmd_say(self, user_id: int, text: str) -> int:
            mark = self.mark(user_id)
            self.send_text(user_id, text, language_code="en")
            return mark

        def cmd_upload(self, user_id: int, filename: str, content: bytes) -> int:
            mark = self.mark(user_id)
            self.send_document(user_id, filename, content, language_code="en")
            return mark

        def cmd_press(self, user_id: int, button: str) -> int:
            mark = self.mark(user_id)
            self.press(user_id, button)
            self.pressed_at = time.monotonic()
            return mark

        async def cmd_wait(self, user_id: int, contains: str, since: int, wait: float) -> str:
            found = await self.wait_for_message(user_id, contains, since=since, timeout=wait)
            return found.text or ""

        def cmd_buttons(self, user_id: int) -> list[str]:
            last = self.last_message(user_id)
            return list(last.buttons) if last is not None else []

        def cmd_bulk(self) -> dict[str, Any]:
            """Bulk sends so far: their times, and the last press of a button."""
            return {"times": list(self.bulk_times), "pressed_at": self.pressed_at}

        def cmd_set_paid_limit(self, per_second: float | None) -> None:
            self.paid_limit = 1e12 if per_second is None else per_second

        def cmd_set_stars(self, stars: float) -> None:
            self.set_stars(stars)

        def cmd_storm(self, per_second: float | None, retry_after: int) -> None:
            self.storm(per_second, retry_after=retry_after)

        def cmd_paid(self) -> dict[str, Any]:
            return {"sends": self.paid_sends, "charged": self.charged / 1e9, "stars": self.stars}

        # commands
        def cmd_sent(self) -> int:
            return self.sent_count("sendMessage")

        def cmd_reset(self) -> None:
            self.bulk_times.clear()
            self.pressed_at = None
            self._ok_counts.clear()
            self._ok_counts_chat.clear()
            self.send_arrivals.clear()
            self.throttled.clear()
            self._next_mid.clear()
            self.send_times.clear()
            self.send_ports.clear()

        def cmd_chat_counts(self, first: int, count: int) -> list[int]:
            """Messages accepted for each chat ``first`` .. ``first + count - 1``."""
            got = self._ok_counts_chat
            return [got[("sendmessage", chat)] for chat in range(first, first + count)]

        def cmd_send_ports(self) -> dict[int, int]:
            return dict(self.send_ports)

        def cmd_set_rate_limit(self, per_second: float | None, retry_after: int = 1) -> None:
            self.set_rate_limit(per_second, retry_after=retry_after)

        def cmd_rate_stats(self, grace: float) -> dict[str, Any]:
            return self.rate_report(grace)

        async def cmd_probe(self, user_id: int, wait: float) -> float | None:
            """Queue ``/start`` from ``user_id``; seconds until the bot's reply arrives."""
            mark = self.mark(user_id)
            started = time.perf_counter()
            self.send_text(user_id, "/start")
            try:
                await self.wait_for_message(user_id, since=mark, timeout=wait)
            except (TimeoutError, AssertionError):
                return None
            return time.perf_counter() - started

    api = BenchBotAPI()
    await api.start()
    return api
