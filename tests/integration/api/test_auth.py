"""Tokens, errors and limits of the HTTP API, over HTTP against the running bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from openapi_spec_validator import validate

from domain.usecases import api_tokens, roles
from tests.e2e.conftest import ADMIN, _Quiet
from tests.integration.api.conftest import MANAGER, OTHER, ApiHarness, assert_problem, start_api
from tests.support.db import postgresql_only


async def test_me_answers_the_token_owner_and_role(api: ApiHarness) -> None:
    manager = await api.as_user(MANAGER)
    admin = api.client(await api.token(ADMIN, role=None))

    assert (await manager.get("/me")).json() == {"telegram_id": MANAGER, "role": "manager"}
    assert (await admin.get("/me")).json() == {"telegram_id": ADMIN, "role": "admin"}


async def test_a_missing_or_unknown_token_gets_401_problem(api: ApiHarness) -> None:
    missing = await api.client().get("/me")
    body = assert_problem(missing, 401, "api-token-missing")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization" in body["detail"]
    assert_problem(
        await api.client("mf_not-a-real-token").get("/me"), 401, "error-unauthenticated"
    )
    basic = await api.client(Authorization="Basic dXNlcjpwYXNz").get("/me")
    assert_problem(basic, 401, "api-token-missing")


async def test_a_revoked_token_or_a_removed_owner_gets_401_at_once(api: ApiHarness) -> None:
    uow_factory = api.bot.app.db.uow_factory
    first, second = await api.token(MANAGER), await api.token(OTHER)
    assert (await api.client(first).get("/me")).status_code == 200
    [newest, *_] = await api_tokens.list_tokens(uow_factory, MANAGER)
    assert newest.id is not None
    await api_tokens.revoke_token(uow_factory, MANAGER, newest.id, datetime.now(UTC))
    assert_problem(await api.client(first).get("/me"), 401, "error-unauthenticated")

    assert (await api.client(second).get("/me")).status_code == 200
    await roles.revoke_role(uow_factory, _Quiet(), actor_id=None, target_id=OTHER)
    assert_problem(await api.client(second).get("/me"), 401, "error-unauthenticated")


@postgresql_only
async def test_problems_speak_the_accept_language(api: ApiHarness) -> None:
    http = api.client(**{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    body = assert_problem(await http.get("/me"), 401, "api-token-missing")
    assert "Передайте токен" in body["detail"]
    fallback = api.client(**{"Accept-Language": "de"})
    assert "Send an API token" in assert_problem(await fallback.get("/me"), 401)["detail"]


@postgresql_only
async def test_unknown_endpoints_and_methods_are_problems(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    assert_problem(await http.get("/nothing-here"), 404, "api-no-such-endpoint")
    assert_problem(await http.delete("/me"), 405, "api-method-not-allowed")


@pytest.fixture
async def tight_api(database_url: str) -> AsyncIterator[ApiHarness]:
    async for harness in start_api(database_url, api_rate=2, api_body_max_bytes=1000):
        yield harness


@postgresql_only
async def test_each_token_is_rate_limited_with_retry_after(tight_api: ApiHarness) -> None:
    busy = await tight_api.as_user(MANAGER)
    calm = await tight_api.as_user(OTHER)
    answers = await asyncio.gather(*(busy.get("/me") for _ in range(12)))
    limited = [r for r in answers if r.status_code == 429]
    assert limited and len(limited) < 12
    body = assert_problem(limited[0], 429, "api-rate-limited")
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].headers["retry-after"] in body["detail"]
    assert (await calm.get("/me")).status_code == 200  # another token keeps its own budget


async def test_a_runs_status_counts_against_the_rate_and_checks_the_token(
    tight_api: ApiHarness,
) -> None:
    """``GET /runs/{id}`` checks the token in the run's own read: still 401 for a bad
    token, and every call of a good one counts, a missing run's too."""
    assert_problem(await tight_api.client("mf_wrong").get("/runs/1"), 401, "error-unauthenticated")
    poller = await tight_api.as_user(3103)
    answers = await asyncio.gather(*(poller.get("/runs/999999") for _ in range(12)))
    codes = {r.status_code for r in answers}
    assert codes == {404, 429}, codes
    limited = next(r for r in answers if r.status_code == 429)
    assert_problem(limited, 429, "api-rate-limited")


@postgresql_only
async def test_a_body_over_the_limit_is_refused_with_413(tight_api: ApiHarness) -> None:
    http = await tight_api.as_user(MANAGER)
    declared = await http.post("/me", content=b"x" * 1001)
    assert_problem(declared, 413, "api-body-too-large")


@postgresql_only
async def test_the_openapi_document_validates_and_docs_are_served(api: ApiHarness) -> None:
    root = api.base_url.removesuffix("/api/v1")
    async with httpx.AsyncClient(base_url=root) as http:
        document = (await http.get("/openapi.json")).json()
        docs = await http.get("/docs")
    validate(document)
    assert "/api/v1/me" in document["paths"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
