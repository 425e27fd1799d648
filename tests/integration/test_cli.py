"""The ``mailforge`` command as an operator uses it: real processes, real databases."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import TOKEN
from tests.fakes.bot_api import FakeBotAPI
from tests.support.db import sqlite_url

pytestmark = pytest.mark.slow  # runs the mailforge command in a process


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_"))}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def bot_env(api: FakeBotAPI, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A bot or worker on a SQLite file in ``tmp_path`` against the fake, 777 an admin."""
    return cli_env(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api.base_url,
        DATABASE_URL=sqlite_url(tmp_path / "bot.db"),
        ADMIN_IDS="777",
        WEB_PORT="0",
        **extra,
    )


async def spawn(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def mailforge(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await spawn(*args, env=env, cwd=cwd)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_admin_commands_manage_roles_without_the_bot(
    tmp_path: Path, migrated_pg_url: str
) -> None:
    env = cli_env(DATABASE_URL=migrated_pg_url)
    assert (await mailforge("admin", "grant", "42", "admin", env=env, cwd=tmp_path))[0] == 0
    assert (await mailforge("admin", "grant", "43", "manager", env=env, cwd=tmp_path))[0] == 0
    code, out, _ = await mailforge("admin", "list", env=env, cwd=tmp_path)
    assert code == 0
    assert [line.split("\t")[:2] for line in out.splitlines()] == [
        ["42", "admin"],
        ["43", "manager"],
    ]
    code, out, _ = await mailforge("admin", "revoke", "43", env=env, cwd=tmp_path)
    assert (code, out.strip()) == (0, "43: revoked")
    code, _, err = await mailforge("admin", "revoke", "42", env=env, cwd=tmp_path)
    assert code == 1 and "error-last-admin" in err
    code, out, _ = await mailforge("admin", "list", env=env, cwd=tmp_path)
    assert [line.split("\t")[:2] for line in out.splitlines()] == [["42", "admin"]]


async def test_migrate_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    code, out, _ = await mailforge("migrate", env=cli_env(), cwd=tmp_path)
    assert code == 0 and "up to date" in out
    assert (tmp_path / "data" / "mailforge.sqlite3").stat().st_size > 0


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "mailforge: configuration error: BOT_TOKEN: is missing"),
        (
            {"BOT_TOKEN": TOKEN, "TIMEZONE": "Nowhere/Land"},
            "mailforge: configuration error: TIMEZONE: must be an IANA time zone",
        ),
        (
            {"BOT_TOKEN": TOKEN, "ADMIN_IDS": "me"},
            "mailforge: configuration error: ADMIN_IDS: must be Telegram user ids",
        ),
        (
            {"BOT_TOKEN": TOKEN, "DELIVERY_LEASE_SECONDS": "12"},
            "mailforge: configuration error: DELIVERY_LEASE_SECONDS: must be at least 3 "
            "heartbeats (15 s)",
        ),
        (
            {"BOT_TOKEN": TOKEN, "TELEGRAM_RATE": "1500"},
            "mailforge: configuration error: TELEGRAM_RATE: must be above 0 and at most 1000",
        ),
        (
            {"BOT_TOKEN": TOKEN, "TELEGRAM_RATE": "0"},
            "mailforge: configuration error: TELEGRAM_RATE: must be above 0 and at most 1000",
        ),
    ],
)
async def test_a_bad_setting_stops_start_up_with_one_line(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    code, out, err = await mailforge("run", env=cli_env(**env), cwd=tmp_path)
    assert code == 2
    assert err.strip().startswith(line)
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


async def test_an_unreachable_database_stops_start_up_with_one_line_naming_it(
    tmp_path: Path,
) -> None:
    closed = free_port()
    url = f"postgresql://mailer:pa55-w0rd@127.0.0.1:{closed}/mail"
    code, out, err = await mailforge(
        "run", env=cli_env(BOT_TOKEN=TOKEN, DATABASE_URL=url), cwd=tmp_path
    )
    assert code == 2
    (line,) = err.strip().splitlines()  # that line alone, not buried under library logs
    assert line.startswith(
        f"mailforge: configuration error: DATABASE_URL: cannot reach the database mail on "
        f"127.0.0.1:{closed} ("
    )
    assert "Traceback" not in err + out and "pa55-w0rd" not in err + out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["run", "worker"])
async def test_an_unreachable_bot_api_or_a_revoked_token_stops_start_up_with_one_line(
    tmp_path: Path, command: str
) -> None:
    database = {"BOT_TOKEN": TOKEN, "DATABASE_URL": sqlite_url(tmp_path / "bot.db")}
    closed = f"http://127.0.0.1:{free_port()}"
    code, out, err = await mailforge(
        command, env=cli_env(TELEGRAM_API_URL=closed, **database), cwd=tmp_path
    )
    assert code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"mailforge: configuration error: TELEGRAM_API_URL: cannot reach {closed}")
    )
    assert "Traceback" not in err + out and TOKEN.split(":")[1] not in err + out

    async with FakeBotAPI() as api:
        api.revoked_tokens.add(TOKEN)
        code, out, err = await mailforge(
            command, env=cli_env(TELEGRAM_API_URL=api.base_url, **database), cwd=tmp_path
        )
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "mailforge: configuration error: BOT_TOKEN: Telegram rejected this token "
        "(401 Unauthorized)"
    )
    assert "Traceback" not in err + out


async def test_a_worker_process_sends_but_leaves_menus_to_the_bot(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        proc = await spawn("worker", env=bot_env(api, tmp_path), cwd=tmp_path)
        try:
            assert proc.stderr is not None
            started = b""
            while b"worker runs" not in started:
                line = await asyncio.wait_for(proc.stderr.readline(), 60)
                assert line, "the worker exited before it started"
                started = line
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
        assert proc.returncode == 0
        methods = {method for method, _ in api.requests}
        assert "getMe" in methods  # the token was checked
        assert "setMyCommands" not in methods and not api.commands


async def test_the_bot_starts_from_an_unedited_env_example_plus_a_token(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text())  # REDIS_URL=, SMTP_HOST=, WORKERS= …
    async with FakeBotAPI() as api:
        # The token, and the fake instead of api.telegram.org (no test reaches the internet);
        # WEB_PORT=0 so that parallel tests do not fight over 8080.
        env = cli_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url, WEB_PORT="0")
        proc = await spawn("run", env=env, cwd=tmp_path)
        assert proc.stderr is not None
        stderr = asyncio.create_task(proc.stderr.read())
        try:
            api.send_text(4242, "/start", language_code="en")
            reply = await api.wait_for_message(4242, timeout=60)
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
    assert "/stop" in reply.text  # subscribed, as anyone pressing /start is
    assert proc.returncode == 0
    assert "Traceback" not in (await stderr).decode()
    assert (tmp_path / "data" / "mailforge.sqlite3").exists()  # the example's DATABASE_URL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_run_serves_the_bot_and_stops_cleanly_on_a_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    async with FakeBotAPI() as api:
        env = bot_env(api, tmp_path, LOG_LEVEL="DEBUG")
        proc = await spawn("run", env=env, cwd=tmp_path)
        assert proc.stderr is not None
        # Read the DEBUG log while the bot runs: a full pipe would block its logging.
        stderr = asyncio.create_task(proc.stderr.read())
        try:
            api.send_text(777, "/start", language_code="en")
            reply = await api.wait_for_message(777, timeout=30)
            assert "You are a MailForge <b>admin</b>" in reply.raw_text
            proc.send_signal(signum)
            await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
        assert proc.returncode == 0
        log = (await stderr).decode()
        assert "MailForge stopped" in log
        assert TOKEN not in log and TOKEN.split(":")[1] not in log
