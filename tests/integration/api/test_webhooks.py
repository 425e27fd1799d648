"""Event webhooks over HTTP: admins register endpoints (managers get 403), a launch's
events reach a local receiver signed with the endpoint's secret, a 500 is retried with
the same event id and body, and the test button's POST; the address guard refuses
private receivers unless allowed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from domain.errors import DomainError
from infrastructure.fetch.hooks import HttpWebhookPoster
from tests.e2e.conftest import ADMIN
from tests.fakes.webhook import FakeWebhook, WebhookRequest
from tests.integration.api.conftest import MANAGER, ApiHarness, assert_problem, start_api
from tests.integration.api.test_mailings import _finished, _mailing

READERS = [940_001, 940_002, 940_003]
BLOCKED = 940_003


@pytest.fixture
async def hooked(database_url: str) -> AsyncIterator[ApiHarness]:
    settings = {"hooks_allow_private_urls": True, "hooks_retry_seconds": 0.3}
    async for harness in start_api(database_url, **settings):
        yield harness


def genuine(secret: str, request: WebhookRequest) -> bool:
    """What a receiver does: HMAC-SHA256 of the raw body with the endpoint's secret."""
    mac = hmac.new(secret.encode(), request.raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={mac}", request.headers["X-MailForge-Signature"])


async def arrived(receiver: FakeWebhook, count: int, within: float = 60) -> list[WebhookRequest]:
    deadline = time.monotonic() + within
    while len(receiver.requests) < count:
        assert time.monotonic() < deadline, [r.body for r in receiver.requests]
        await asyncio.sleep(0.1)
    return receiver.requests


async def settled(admin: httpx.AsyncClient, endpoint_id: int, within: float = 60) -> Any:
    """The endpoint once nothing waits to be sent to it."""
    deadline = time.monotonic() + within
    while True:
        shown = (await admin.get(f"/webhooks/{endpoint_id}")).json()
        if shown["pending"] == 0:
            return shown
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.1)


async def test_a_launch_is_told_signed_and_a_500_is_retried(hooked: ApiHarness) -> None:
    admin = hooked.client(await hooked.token(ADMIN, role=None))
    manager = await hooked.as_user(MANAGER)
    async with FakeWebhook() as receiver:
        body = {"url": receiver.url, "events": ["run.started", "run.finished", "delivery.refused"]}
        assert_problem(await manager.post("/webhooks", json=body), 403, "api-admins-only")
        made = await admin.post("/webhooks", json=body)
        assert made.status_code == 201, made.text
        endpoint, secret = made.json(), made.json()["secret"]
        assert secret.startswith("whsec_")
        assert "secret" not in (await admin.get(f"/webhooks/{endpoint['id']}")).json()

        receiver.respond(500)  # the first POST fails once
        hooked.bot.api.block(BLOCKED)  # refused by Telegram: a delivery.refused event
        mailing_id = await _mailing(manager, READERS, name="Hooked")
        run_id = (await manager.post(f"/mailings/{mailing_id}/launch")).json()["id"]
        run = await _finished(manager, run_id)
        assert run["totals"]["delivered"] == 2 and run["totals"]["refused"] == 1

        await arrived(receiver, 4)
        shown = await settled(admin, endpoint["id"])
        got = receiver.requests  # three events, the first one POSTed twice (after its 500)
        assert len(got) == 4
        assert {r.body["type"] for r in got} == {"run.started", "run.finished", "delivery.refused"}
        assert all(genuine(secret, r) for r in got)
        assert all(r.headers["X-MailForge-Event-Id"] == r.body["id"] for r in got)
        assert all(r.headers["X-MailForge-Timestamp"].isdigit() for r in got)
        again = [r for r in got[1:] if r.body["id"] == got[0].body["id"]]
        assert len(again) == 1 and again[0].raw == got[0].raw  # same bytes, same event id
        by_type = {r.body["type"]: r.body for r in got}
        started = by_type["run.started"]["data"]
        assert started["run_id"] == run_id and started["recipients"] == 3
        refused = by_type["delivery.refused"]["data"]
        assert refused["recipient"] == {"kind": "telegram", "address": str(BLOCKED)}
        counts = by_type["run.finished"]["data"]["counts"]
        assert counts == {"delivered": 2, "failed": 0, "refused": 1, "not_sent": 0, "total": 3}

        assert shown["failures"] == []  # the 500 was made good

        tested = await admin.post(f"/webhooks/{endpoint['id']}/test")
        assert tested.json() == {"ok": True, "status": 200, "error": None}
        assert receiver.requests[-1].body["type"] == "webhook.test"
        assert genuine(secret, receiver.requests[-1])


async def test_endpoints_are_admins_and_failures_show(hooked: ApiHarness) -> None:
    admin = hooked.client(await hooked.token(ADMIN, role=None))
    manager = await hooked.as_user(MANAGER)
    assert_problem(await manager.get("/webhooks"), 403, "api-admins-only")
    assert_problem(await admin.post("/webhooks", json={"url": "ftp://x.example/h"}), 422)
    wrong_event = await admin.post(
        "/webhooks", json={"url": "https://x.example/h", "events": ["run.exploded"]}
    )
    assert_problem(wrong_event, 422, "api-invalid-field")
    assert (await admin.get("/webhooks")).json() == []
    async with FakeWebhook() as receiver:
        receiver.respond(503, times=100)
        made = (await admin.post("/webhooks", json={"url": receiver.url})).json()
        endpoint_id = made["id"]
        assert set(made["events"]) == {
            "run.started",
            "run.finished",
            "delivery.refused",
            "delivery.bounced",
            "recipient.unsubscribed",
        }
        assert_problem(await manager.get(f"/webhooks/{endpoint_id}"), 403)
        assert_problem(await manager.post(f"/webhooks/{endpoint_id}/test"), 403)
        assert_problem(await manager.delete(f"/webhooks/{endpoint_id}"), 403)
        tested = (await admin.post(f"/webhooks/{endpoint_id}/test")).json()
        assert tested["ok"] is False and tested["status"] == 503

        await hooked.bot.say(950_001, "/start")
        await hooked.bot.say(950_001, "/stop")
        await arrived(receiver, 3)  # the test, then the unsubscribe and its first retry
        shown = (await admin.get(f"/webhooks/{endpoint_id}")).json()
        assert shown["pending"] == 1
        (failure,) = shown["failures"]
        assert failure["event"] == "recipient.unsubscribed" and failure["last_status"] == 503
        assert failure["status"] == "pending" and failure["next_attempt_at"]

        assert (await admin.delete(f"/webhooks/{endpoint_id}")).status_code == 204
        assert_problem(await admin.get(f"/webhooks/{endpoint_id}"), 404, "hooks-not-found")
        assert (await admin.get("/webhooks")).json() == []


async def test_private_receivers_are_refused_unless_allowed() -> None:
    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with FakeWebhook() as receiver:
        guarded = HttpWebhookPoster(resolver=to_loopback)
        with pytest.raises(DomainError) as refused:
            await guarded.check(receiver.url)
        assert refused.value.key == "fetch-forbidden-address"
        rebound = f"http://hooks.example.com:{receiver.port}/hook"
        answer = await guarded.post(rebound, b"{}", {})  # a name that now leads inside
        assert answer.status is None and "fetch-forbidden-address" in (answer.error or "")
        assert receiver.requests == []  # never contacted
        await guarded.aclose()
        allowed = HttpWebhookPoster(resolver=to_loopback, allow_private=True)
        answer = await allowed.post(rebound, b"{}", {"Content-Type": "application/json"})
        assert answer.ok and receiver.requests[0].headers["Host"].startswith("hooks.example.com")
        await allowed.aclose()
