"""Field types shared by the settings sections: pydantic's own types (``HttpUrl``,
``RedisDsn``, ``Json``, ``ZoneInfo``, constrained numbers) with the one-line messages the
README promises instead of pydantic's generic ones."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    RedisDsn,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


def env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A section's field read from the environment variable ``name`` (case-insensitive):
    the name users set and the one an error message gives."""
    return Field(default, validation_alias=name, **constraints)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# An optional setting given as "" or spaces counts as not set (``REDIS_URL=`` in .env).
Unset = BeforeValidator(_blank_is_none)
Text = Annotated[str, StringConstraints(strip_whitespace=True)]


def explained(problem: str) -> WrapValidator:
    """Replace pydantic's message for a malformed value with ``problem``."""

    def check(value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(problem) from None

    return WrapValidator(check)


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_REDIS_URL: TypeAdapter[RedisDsn] = TypeAdapter(RedisDsn)


def http_url(
    problem: str = "must be an http(s) URL such as https://example.com",
) -> AfterValidator:
    """Text that pydantic's ``HttpUrl`` accepts (http or https, a host), kept as typed minus a
    trailing slash: callers join paths to it (``{PUBLIC_BASE_URL}/unsubscribe/…``)."""

    def check(value: str | None) -> str | None:
        if value is None:  # an optional setting left unset
            return None
        try:
            _HTTP_URL.validate_python(value)
        except ValidationError:
            raise ValueError(problem) from None
        return value.rstrip("/")

    return AfterValidator(check)


def _strip_secret(value: SecretStr) -> SecretStr:
    return SecretStr(value.get_secret_value().strip())


def _redis_dsn(value: SecretStr) -> SecretStr:
    try:
        _REDIS_URL.validate_python(value.get_secret_value())
    except ValidationError:  # its message would repeat the URL and its password
        raise ValueError("must be redis://host:6379/0 (or rediss://, unix://)") from None
    return value


def secret_matching(pattern: str, problem: str) -> AfterValidator:
    """A secret of the shape ``pattern``; ``problem`` never repeats the value."""
    shape = re.compile(pattern)

    def check(value: SecretStr | None) -> SecretStr | None:
        if value is not None and not shape.match(value.get_secret_value()):
            raise ValueError(problem)
        return value

    return AfterValidator(check)


# What redis-py's from_url accepts; the password inside stays secret.
RedisUrl = Annotated[SecretStr, AfterValidator(_strip_secret), AfterValidator(_redis_dsn)]
StrippedSecret = Annotated[SecretStr, AfterValidator(_strip_secret)]
