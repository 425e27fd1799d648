"""Logging set-up: one line per event, with its context ids, secrets redacted.

``LOG_FORMAT=text`` writes ``time LEVEL logger: message key=value…`` for people;
``LOG_FORMAT=json`` one JSON object per line (python-json-logger) for log collectors, with
the ``extra`` fields of the call (``mailing_id``, ``run_id``, ``delivery_id``, counts) as
fields of their own. In both, every configured secret (bot token, passwords, API keys,
webhook headers) is replaced by ``***`` in the finished line, tracebacks included.

What is logged at INFO never holds a message body or an address: the code logs ids and
counts, and the libraries that log requests (httpx, aiogram's per-update lines, aiohttp's
access log with its signed unsubscribe links) are held at WARNING, and so is APScheduler,
which would log every scheduler tick.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any, Literal

from pydantic import BaseModel, SecretStr
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# Request logs (URLs may hold tokens), APScheduler's two lines per 15-second tick, and
# Alembic's seven "setup plugin" lines at every start (which buried the one line that
# says why start-up stopped).
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "aiogram.event",
    "aiohttp.access",
    "aiosmtplib",
    "apscheduler",
    "alembic.runtime.plugins",
)
STANDARD = frozenset(RESERVED_ATTRS) | {"taskName", "message", "asctime"}


class Redactor:
    """Replaces every configured secret with ``***``, longest first."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


class RedactingFormatter(logging.Formatter):
    """Text lines; the call's ``extra`` fields follow the message as ``key=value``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(FORMAT, DATE_FORMAT)
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={_text(v)}" for k, v in context_of(record).items())
        if extra:
            head, newline, rest = line.partition("\n")  # keep a traceback below the line
            line = f"{head} {extra}{newline}{rest}"
        return self.redact(line)


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, then the context fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(
            FORMAT,
            DATE_FORMAT,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
        self.redact = Redactor(secrets)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Redact the values before they are escaped into JSON (a secret with a quote or a
        # backslash would no longer match afterwards), then the line as a backstop.
        return {key: _redact_value(self.redact, value) for key, value in log_data.items()}

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields a call passed (``mailing_id``, ``run_id``, counts…)."""
    return {
        k: v for k, v in record.__dict__.items() if k not in STANDARD and not k.startswith("_")
    }


def make_formatter(fmt: Literal["text", "json"], secrets: Iterable[str]) -> logging.Formatter:
    return RedactingJsonFormatter(secrets) if fmt == "json" else RedactingFormatter(secrets)


def setup_logging(
    level: str,
    secrets: Iterable[str] = (),
    fmt: Literal["text", "json"] = "text",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Route every logger to one handler on ``stream`` (stderr); returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(fmt, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def secrets_of(settings: object) -> list[str]:
    """Every ``SecretStr`` value of a settings object, its sections and their mappings
    (``WEBHOOK_HEADERS``: each header value), to be redacted from logs."""
    if isinstance(settings, SecretStr):
        return [settings.get_secret_value()]
    if isinstance(settings, BaseModel):
        values: Iterable[object] = [
            getattr(settings, name) for name in type(settings).model_fields
        ]
    elif isinstance(settings, dict):
        values = settings.values()
    else:
        return []
    return [secret for value in values for secret in secrets_of(value)]


def _text(value: object) -> str:
    shown = str(value)
    return json.dumps(shown, ensure_ascii=False) if (" " in shown or not shown) else shown


def _redact_value(redact: Redactor, value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(redact, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(redact, v) for v in value]
    return value
