"""WebhookChannel against the fake third-party API on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from domain.delivery import Outcome
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.webhook import UNCERTAIN, WebhookChannel, retry_after
from tests.fakes.webhook import FakeWebhook
from tests.integration.channels.support import by_id, content, messages, outcomes

HOOK = AddressKind.webhook


@pytest.fixture
async def hook() -> AsyncIterator[FakeWebhook]:
    async with FakeWebhook() as fake:
        yield fake


@pytest.fixture
async def channel(hook: FakeWebhook) -> AsyncIterator[WebhookChannel]:
    webhook = WebhookChannel(hook.url, {"Authorization": "Bearer s3cret"}, timeout=0.5)
    yield webhook
    await webhook.close()


async def test_payload_headers_and_provider_id(hook: FakeWebhook, channel: WebhookChannel) -> None:
    run = content(Channel.webhook, subject="Default subject")
    batch = messages(
        HOOK,
        ["ext-1"],
        '<b>Hi</b> Ann, see <a href="https://x.example">this</a>',
        subject="News for Ann",
        attributes={"name": "Ann"},
    )

    results = await channel.send(run, batch)

    assert by_id(results)[1].outcome is Outcome.delivered
    assert by_id(results)[1].provider_id == "msg-1"
    (request,) = hook.requests
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["Idempotency-Key"] == "mailforge-1"
    assert request.body == {
        "mailing_id": 7,
        "mailing_name": "Spring news",
        "run_id": 3,
        "delivery_id": 1,
        "recipient": {"kind": "webhook", "value": "ext-1", "attributes": {"name": "Ann"}},
        "subject": "News for Ann",
        "text": "Hi Ann, see this (https://x.example)",
        "html": '<b>Hi</b> Ann, see <a href="https://x.example">this</a>',
    }


async def test_status_codes_are_classified(hook: FakeWebhook, channel: WebhookChannel) -> None:
    hook.respond(204)
    hook.respond(404, {"error": "no such route"})
    hook.respond(422, {"error": "unknown recipient"})
    hook.respond(429, headers={"Retry-After": "7"})
    hook.respond(503)

    results = []
    for n in range(5):  # one at a time, so the scripted answers meet known messages
        results += await channel.send(content(Channel.webhook), messages(HOOK, ["x"], first_id=n))

    got = by_id(results)
    assert got[0].outcome is Outcome.delivered and got[0].provider_id is None
    assert got[1].outcome is Outcome.failed  # our URL is wrong, not the address
    assert got[2].outcome is Outcome.refused
    assert "unknown recipient" in (got[2].error or "")
    assert got[3].outcome is Outcome.retry and got[3].retry_after == 7.0
    assert got[4].outcome is Outcome.retry and got[4].retry_after is None
    # A 429 says it was not done; a 5xx does not say: a later delivery may be a repeat.
    assert not got[3].answer_lost and got[4].answer_lost


async def test_read_timeout_is_uncertain_and_not_resent(
    hook: FakeWebhook, channel: WebhookChannel
) -> None:
    hook.hang_next()

    results = await channel.send(content(Channel.webhook), messages(HOOK, ["x"]))

    assert by_id(results)[1].outcome is Outcome.failed
    assert by_id(results)[1].error == UNCERTAIN
    assert len(hook.requests) == 1


async def test_connection_refused_is_retry() -> None:
    async with FakeWebhook() as gone:
        url = gone.url
    webhook = WebhookChannel(url, {}, timeout=0.5)
    try:
        results = await webhook.send(content(Channel.webhook), messages(HOOK, ["a", "b"]))
    finally:
        await webhook.close()
    assert outcomes(results) == {1: Outcome.retry, 2: Outcome.retry}


async def test_a_batch_goes_concurrently_over_reused_connections(hook: FakeWebhook) -> None:
    hook.answer_in_groups_of = 16  # held until 16 are in flight together (at most 5 s)
    values = [f"ext-{n}" for n in range(64)]
    # Its own channel, with a timeout past the fake's 5-s hold: with the fixture's 0.5 s,
    # the first requests of a group timed out under load before the 16th had come (failed
    # or retry instead of delivered, 4 of 9 fast-loop runs at load 6-12).
    channel = WebhookChannel(hook.url, {"Authorization": "Bearer s3cret"}, timeout=10)
    try:
        results = await channel.send(content(Channel.webhook), messages(HOOK, values))
        batch = messages(HOOK, values, first_id=65)
        results += await channel.send(content(Channel.webhook), batch)
    finally:
        await channel.close()

    assert set(outcomes(results).values()) == {Outcome.delivered}
    assert sorted(r.body["recipient"]["value"] for r in hook.requests[:64]) == sorted(values)
    assert hook.max_in_flight == 16  # concurrent up to the limit, not one by one
    assert len({r.peer for r in hook.requests}) <= 16  # both batches over the same pool


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert retry_after("12") == 12.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(later) or 0) <= 30
