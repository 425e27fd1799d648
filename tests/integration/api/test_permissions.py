"""The permission matrix, for every endpoint of the API: without a token each is a 401;
with another manager's token, another manager's mailings and runs are 404 (they do not
exist for them), lists are the team's as in the bot (read and filled by all, renamed and
deleted by their owner or an admin: 403), admin-only calls are 403; and nothing of the
owner's changes. A new endpoint fails the first test until it has its row here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import (
    MANAGER,
    OTHER,
    ApiHarness,
    assert_problem,
    start_api,
)
from tests.integration.api.test_mailings import _finished, _mailing
from tests.support.db import postgresql_only

READER = 930_501
Call = tuple[int, str | None]  # the other manager's status and problem code
ADMINS_ONLY: Call = (403, "api-admins-only")

# (method, path) → (what another manager gets, a request body). Paths as routed.
MATRIX: dict[tuple[str, str], tuple[Call, Any]] = {
    ("GET", "/me"): ((200, None), None),
    ("GET", "/lists"): ((200, None), None),
    ("POST", "/lists"): ((201, None), {"name": "Their own"}),
    ("GET", "/lists/{list_id}"): ((200, None), None),
    ("PATCH", "/lists/{list_id}"): ((403, "lists-not-owner"), {"name": "Taken"}),
    ("DELETE", "/lists/{list_id}"): ((403, "lists-not-owner"), None),
    ("POST", "/lists/{list_id}/members"): ((200, None), {"members": [{"email": "o@x.io"}]}),
    ("DELETE", "/lists/{list_id}/members/{address}"): ((404, "members-not-a-member"), None),
    ("POST", "/lists/{list_id}/import"): ((200, None), "file"),
    ("GET", "/mailings"): ((200, None), None),
    ("POST", "/mailings"): ((201, None), {"name": "Theirs", "channel": "telegram", "text": "x"}),
    ("GET", "/mailings/{mailing_id}"): ((404, None), None),
    ("PATCH", "/mailings/{mailing_id}"): ((404, None), {"name": "Mine now"}),
    ("DELETE", "/mailings/{mailing_id}"): ((404, None), None),
    ("POST", "/mailings/{mailing_id}/preview"): ((404, None), None),
    ("POST", "/mailings/{mailing_id}/launch"): ((404, None), None),
    ("POST", "/mailings/{mailing_id}/pause"): ((404, None), None),
    ("POST", "/mailings/{mailing_id}/resume"): ((404, None), None),
    ("POST", "/mailings/{mailing_id}/cancel"): ((404, None), None),
    ("POST", "/mailings/{mailing_id}/test"): ((404, None), {}),
    ("GET", "/mailings/{mailing_id}/runs"): ((404, None), None),
    ("GET", "/runs/{run_id}"): ((404, "stats-run-not-found"), None),
    ("GET", "/runs/{run_id}/deliveries"): ((404, "stats-run-not-found"), None),
    ("POST", "/suppressions"): (ADMINS_ONLY, {"address": "a@x.io"}),
    ("DELETE", "/suppressions/{address}"): (ADMINS_ONLY, None),
    ("GET", "/webhooks"): (ADMINS_ONLY, None),
    ("POST", "/webhooks"): (ADMINS_ONLY, {"url": "https://crm.example/h"}),
    ("GET", "/webhooks/{endpoint_id}"): (ADMINS_ONLY, None),
    ("DELETE", "/webhooks/{endpoint_id}"): (ADMINS_ONLY, None),
    ("POST", "/webhooks/{endpoint_id}/test"): (ADMINS_ONLY, None),
}


@postgresql_only  # the OpenAPI document: no query
async def test_every_endpoint_has_its_row_in_the_matrix(api: ApiHarness) -> None:
    root = api.base_url.removesuffix("/api/v1")
    async with httpx.AsyncClient(base_url=root) as http:
        document = (await http.get("/openapi.json")).json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert documented == set(MATRIX)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[ApiHarness]:
    """The matrix calls every endpoint as fast as the server answers, well past a token's
    20 calls a second; the limit itself is tested in test_auth."""
    async for harness in start_api(database_url, api_rate=1000):
        yield harness


async def test_the_matrix_holds_on_every_endpoint(api: ApiHarness) -> None:
    owner, other = await api.as_user(MANAGER), await api.as_user(OTHER)
    nobody = api.client()
    mailing_id = await _mailing(owner, [READER], name="Owned")
    run_id = (await owner.post(f"/mailings/{mailing_id}/launch")).json()["id"]
    await _finished(owner, run_id)
    list_id = (await owner.get(f"/mailings/{mailing_id}")).json()["list_ids"][0]
    before = {
        "mailing": (await owner.get(f"/mailings/{mailing_id}")).json(),
        "runs": (await owner.get(f"/mailings/{mailing_id}/runs")).json(),
        "list": (await owner.get(f"/lists/{list_id}")).json()["name"],
    }
    values = {
        "list_id": list_id,
        "mailing_id": mailing_id,
        "run_id": run_id,
        "address": "nobody@example.com",
        "endpoint_id": 1,
    }
    for (method, path), ((status, code), body) in MATRIX.items():
        url = path.format(**values)
        kwargs: dict[str, Any] = {}
        if body == "file":
            kwargs["files"] = {"file": ("people.csv", b"email\nfrom.them@example.com\n")}
        elif body is not None:
            kwargs["json"] = body
        refused = await nobody.request(method, url, **kwargs)
        assert_problem(refused, 401, "api-token-missing")
        answer = await other.request(method, url, **kwargs)
        if status >= 400:
            assert_problem(answer, status, code)
        else:
            assert answer.status_code == status, (method, path, answer.text)

    assert (await owner.get(f"/mailings/{mailing_id}")).json() == before["mailing"]
    assert (await owner.get(f"/mailings/{mailing_id}/runs")).json() == before["runs"]
    assert (await owner.get(f"/lists/{list_id}")).json()["name"] == before["list"]
    theirs = (await other.get("/mailings")).json()["items"]
    assert [m["name"] for m in theirs] == ["Theirs"]  # never the owner's
