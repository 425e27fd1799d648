"""Logging set-up: one line per event, secrets redacted from everything written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from pydantic import BaseModel, SecretStr

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Replaces every configured secret (bot token, passwords in URLs) with ``***``.

    aiohttp and aiogram may log request URLs, and the Bot API puts the token in the URL;
    redacting the formatted line also covers tracebacks.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(FORMAT, "%Y-%m-%dT%H:%M:%S")
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def secrets_of(settings: BaseModel) -> list[str]:
    """Every ``SecretStr`` value of a settings object, to be redacted from logs."""
    values = [getattr(settings, name) for name in type(settings).model_fields]
    found: list[str] = []
    for value in values:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            found += _json_values(secret)  # WEBHOOK_HEADERS: each header value on its own
    return found


def _json_values(text: str) -> list[str]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return []
    return [v for v in parsed.values() if isinstance(v, str)] if isinstance(parsed, dict) else []
