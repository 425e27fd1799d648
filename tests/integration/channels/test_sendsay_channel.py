"""SendsayChannel against the fake Sendsay API on loopback: one personal issue.send each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from domain.delivery import Outcome
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.sendsay import UNCERTAIN, SendsayChannel, is_refusal
from infrastructure.sendsay import SendsayClient
from tests.fakes.sendsay import FakeSendsay
from tests.integration.channels.support import by_id, content, messages, outcomes

EMAIL = AddressKind.email
ACCOUNT, KEY = "acme", "s3cret"
SENDER = "Acme News <news@acme.example>"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSendsay]:
    async with FakeSendsay(account=ACCOUNT, api_key=KEY) as server:
        yield server


def make_channel(fake: FakeSendsay, *, key: str = KEY, timeout: float = 5.0) -> SendsayChannel:
    client = SendsayClient(ACCOUNT, key, base_url=fake.base_url, timeout=timeout)
    return SendsayChannel(client, sender=SENDER, concurrency=4)


@pytest.fixture
async def channel(fake: FakeSendsay) -> AsyncIterator[SendsayChannel]:
    sendsay = make_channel(fake)
    yield sendsay
    await sendsay.close()


async def test_each_message_is_one_personal_issue_send(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    run = content(Channel.sendsay, subject="Default subject")
    batch = messages(
        EMAIL, ["ann@example.ru"], '<b>Hi</b> Ann,\nsee <a href="https://x.example">this</a>'
    )
    batch += messages(EMAIL, ["bob@example.ru"], "Hi Bob", subject="For Bob", first_id=2)

    results = await channel.send(run, batch)

    assert outcomes(results) == {1: Outcome.delivered, 2: Outcome.delivered}
    assert {r.provider_id for r in results} == {"1", "2"}  # the answers' track.id
    assert fake.actions() == ["issue.send", "issue.send"]
    sent = {issue["email"]: issue for issue in fake.issues}
    ann = sent["ann@example.ru"]
    assert (ann["group"], ann["sendwhen"]) == ("personal", "now")
    letter = ann["letter"]
    assert letter["subject"] == "Default subject"
    assert (letter["from.email"], letter["from.name"]) == ("news@acme.example", "Acme News")
    html = letter["message"]["html"]
    assert '<b>Hi</b> Ann,<br>\nsee <a href="https://x.example">this</a>' in html
    assert letter["message"]["text"] == "Hi Ann,\nsee this (https://x.example)"
    assert sent["bob@example.ru"]["letter"]["subject"] == "For Bob"


async def test_wrong_credentials_fail_and_never_refuse(fake: FakeSendsay) -> None:
    sendsay = make_channel(fake, key="not-the-key")
    try:
        results = await sendsay.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))
    finally:
        await sendsay.close()
    (result,) = results
    assert result.outcome is Outcome.failed
    assert result.error is not None and "error/auth/failed" in result.error
    assert fake.issues == []


async def test_a_rate_limit_is_retried_after_the_time_sendsay_asks(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    fake.fail_next("issue.send", status=429, retry_after=17)
    fake.fail_next("issue.send", errors=[{"id": "error/too_many_requests"}])

    results = by_id(await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"])))
    again = by_id(await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"])))

    assert results[1].outcome is Outcome.retry and results[1].retry_after == 17
    assert results[1].error is not None and "http/429" in results[1].error
    assert again[1].outcome is Outcome.retry and again[1].retry_after is None
    assert fake.issues == []


async def test_a_timeout_after_sending_is_failed_uncertain_not_retried(
    fake: FakeSendsay,
) -> None:
    fake.delay = 0.5
    sendsay = make_channel(fake, timeout=0.1)
    try:
        (result,) = await sendsay.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))
    finally:
        await sendsay.close()
    assert result.outcome is Outcome.failed
    assert result.error is not None and result.error.startswith(UNCERTAIN)


async def test_an_unusable_address_is_refused_and_other_errors_fail(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    fake.reject_email("bad@x.ru", "error/email/invalid")
    fake.reject_email("gone@x.ru", "error/member/unsubscribed")
    fake.reject_email("odd@x.ru", "error/letter/too_big")
    batch = messages(EMAIL, ["bad@x.ru", "gone@x.ru", "odd@x.ru", "ok@x.ru"])

    results = by_id(await channel.send(content(Channel.sendsay), batch))

    assert {i: r.outcome for i, r in results.items()} == {
        1: Outcome.refused,
        2: Outcome.refused,
        3: Outcome.failed,
        4: Outcome.delivered,
    }
    assert results[1].error is not None and "error/email/invalid" in results[1].error
    assert results[3].error is not None and "error/letter/too_big" in results[3].error
    assert [issue["email"] for issue in fake.issues] == ["ok@x.ru"]


async def test_a_redirect_is_followed_and_the_letter_sent_once(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    cluster = f"/clu7/general/api/v100/json/{ACCOUNT}"
    fake.redirect_once_to(cluster)

    (result,) = await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))

    assert result.outcome is Outcome.delivered
    assert [r.path for r in fake.requests] == [f"/general/api/v100/json/{ACCOUNT}", cluster]
    assert len(fake.issues) == 1


def test_only_address_errors_count_as_refusals() -> None:
    assert is_refusal("error/email/invalid")
    assert is_refusal("error/member/unsubscribed")
    assert is_refusal("error/email/stoplist")
    assert not is_refusal("error/account/blocked")  # our account: never the recipient's
    assert not is_refusal("error/sender/invalid")
    assert not is_refusal("error/email")
    assert not is_refusal("error/member/not_found")
