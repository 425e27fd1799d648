"""Errors as RFC 9457 problem details (``application/problem+json``).

``detail`` is the bot's own message for the same error, in English or the language the
client asks for (``Accept-Language``); ``code`` is the message key, stable for programs.
Validation errors list every field at fault in ``errors`` (``field``: its path).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiogram.utils.i18n import I18n
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from domain.errors import (
    AccessDenied,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidInput,
    LastAdminError,
    NotFound,
    Unauthenticated,
)
from handlers.i18n import translate

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
API_DEFAULT_LOCALE = "en"
STATUS_OF: dict[type[DomainError], int] = {
    Unauthenticated: 401,
    AccessDenied: 403,
    NotFound: 404,
    Conflict: 409,
    IllegalTransition: 409,
    LastAdminError: 409,
    InvalidInput: 422,
}
HTTP_KEYS = {404: "api-no-such-endpoint", 405: "api-method-not-allowed"}
_TAG = re.compile(r"<[^>]+>")


class Problem(HTTPException):
    """An answer that is not a domain error (rate limit, body too large). An
    ``HTTPException`` so that FastAPI passes it through while it reads a body."""

    def __init__(
        self,
        status: int,
        key: str,
        headers: dict[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(status, key, headers)
        self.status, self.key, self.params = status, key, params
        self.extra = dict(extra or {})  # members of the problem object beside the standard ones


def locale_of(request: Request, available: tuple[str, ...]) -> str:
    """The first language of ``Accept-Language`` (by q) that we have; else English."""
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        base = tag.split("-")[0].lower()
        try:
            ranked.append((float(q or 1), base))
        except ValueError:
            continue
    for _, base in sorted(ranked, key=lambda pair: -pair[0]):
        if base in available:
            return base
    return API_DEFAULT_LOCALE


def plain(text: str) -> str:
    """The bot's messages are Telegram HTML; the API speaks plain text."""
    return html.unescape(_TAG.sub("", text))


def text_of(request: Request, key: str, params: Mapping[str, Any] | None = None) -> str:
    """A message of the bot, as plain text in the caller's language."""
    i18n: I18n = request.app.state.i18n
    locale = locale_of(request, i18n.available_locales)
    return plain(translate(i18n, key, locale, dict(params or {})))


def problem_response(
    request: Request,
    status: int,
    key: str,
    params: dict[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": text_of(request, key, params),
        "code": key,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def install_problems(app: FastAPI) -> None:
    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        params = {k: v for k, v in exc.params.items() if isinstance(v, str | int | float)}
        extra = {}
        if isinstance(reason := params.get("reason"), str):  # a message key of its own
            params["reason"] = text_of(request, reason, params)
            extra["reason"] = reason
        return problem_response(request, status, exc.key, params, headers=headers, **extra)

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(
            request, exc.status, exc.key, exc.params, headers=exc.headers, **exc.extra
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            return problem_response(request, 400, "api-invalid-json", errors=errors)
        first = errors[0] if errors else {"field": "", "message": ""}
        return problem_response(request, 422, "api-invalid-field", first, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        key = HTTP_KEYS.get(exc.status_code, "error-generic")
        return problem_response(request, exc.status_code, key, headers=exc.headers)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API call %s %s failed", request.method, request.url.path)
        return problem_response(request, 500, "error-unexpected")

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
