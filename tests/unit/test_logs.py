"""Structured logs: JSON lines that parse, context ids as fields, no secret, no message body."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.logs import setup_logging
from domain.delivery import RunContent
from domain.mailings import Channel
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.usecases.run_events import run_finished, run_started

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PASSWORD = 'smtp-"pa55"\\word'  # a quote and a backslash: JSON escapes them
BODY = "Secret sale for {{ name }}: 90% off, only today!"
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writes JSON into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("INFO", [TOKEN, PASSWORD], "json", stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def a_run(**changes: object) -> MailingRun:
    content = RunContent(7, "Sale", Channel.email, BODY, "Hello {{ name }}").to_json()
    run = MailingRun(
        mailing_id=7,
        scheduled_for=T0,
        content=content,
        id=42,
        started_at=T0,
        totals=RunTotals(pending=3),
    )
    for name, value in changes.items():
        setattr(run, name, value)
    return run


def test_a_run_start_and_end_are_json_lines_with_ids_and_counts(captured: io.StringIO) -> None:
    run_started(a_run(), 3)
    finished = a_run(
        status=RunStatus.completed,
        finished_at=T0 + timedelta(seconds=90),
        totals=RunTotals(delivered=2, refused=1),
    )
    run_finished(finished)

    started, ended = lines(captured)
    assert started["message"].startswith("Run started")  # type: ignore[union-attr]
    assert started["level"] == "INFO" and started["logger"] == "mailforge.runs"
    assert (started["mailing_id"], started["run_id"]) == (7, 42)
    assert (started["channel"], started["recipients"]) == ("email", 3)
    assert ended["message"].startswith("Run finished")  # type: ignore[union-attr]
    assert (ended["mailing_id"], ended["run_id"], ended["status"]) == (7, 42, "completed")
    assert (ended["delivered"], ended["failed"], ended["refused"]) == (2, 0, 1)
    assert ended["duration_s"] == 90.0
    assert BODY not in captured.getvalue() and "Hello" not in captured.getvalue()


def test_secrets_never_appear_in_messages_extra_fields_or_tracebacks(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("aiohttp.client")
    log.warning("GET /bot%s/getMe", TOKEN, extra={"delivery_id": 5, "auth": PASSWORD})
    try:
        raise RuntimeError(f"login failed with {PASSWORD}")
    except RuntimeError:
        log.exception("SMTP said no", extra={"run_id": 9})

    out = captured.getvalue()
    assert TOKEN not in out and PASSWORD not in out
    assert json.dumps(PASSWORD)[1:-1] not in out  # not even in its escaped form
    first, second = lines(captured)
    assert first["message"] == "GET /bot***/getMe"
    assert (first["delivery_id"], first["auth"]) == (5, "***")
    assert second["run_id"] == 9 and "***" in str(second["exc_info"])


def test_request_loggers_are_held_at_warning(captured: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: POST https://api.example/%s", TOKEN)
    logging.getLogger("aiogram.event").info("Update id=1 is handled")
    assert captured.getvalue() == ""


def test_text_lines_carry_the_context_ids_too() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        setup_logging("INFO", [TOKEN], "text", stream)
        run_started(a_run(), 3)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    [line] = stream.getvalue().splitlines()
    assert "INFO mailforge.runs: Run started" in line
    assert "mailing_id=7 run_id=42 channel=email recipients=3" in line
    assert BODY not in line
