"""The FastAPI application: routes under ``/api/v1``, ``/openapi.json`` and ``/docs``."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import I18n
from fastapi import FastAPI

from bot.api.context import ApiContext
from bot.api.limits import BodyLimit
from bot.api.problems import PROBLEM_JSON, install_problems
from bot.api.routes import lists, mailings, me, runs, suppressions, webhooks

PREFIX = "/api/v1"
PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}, "description": "A problem (RFC 9457)"}
ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys(
    (400, 401, 403, 404, 409, 413, 422, 429), PROBLEM
)


def build_api(ctx: ApiContext, i18n: I18n, *, body_max_bytes: int) -> FastAPI:
    api = FastAPI(
        title="MailForge API",
        version="1",
        description=(
            "Lists, members, mailings, launches and delivery statuses. Authenticate with "
            "`Authorization: Bearer <token>` (made in the bot with /token). Errors are "
            "`application/problem+json` (RFC 9457)."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.ctx = ctx
    api.state.i18n = i18n
    install_problems(api)
    api.add_middleware(BodyLimit, max_bytes=body_max_bytes)
    for module in (me, lists, mailings, runs, suppressions, webhooks):
        api.include_router(module.router, prefix=PREFIX, responses=ERRORS)
    return api
