"""SendsayChannel against the strict fake Sendsay on loopback: one personal issue.send each,
with a confirmed sender; auth and sender problems fail with a reason the manager can act
on, a recipient's data never runs as Sendsay template code."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from domain.delivery import Outcome
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.sendsay import UNCERTAIN, SendsayChannel, is_refusal
from infrastructure.sendsay import SendsayClient
from tests.fakes.sendsay import FakeSendsay, Variants
from tests.integration.channels.support import by_id, content, messages, outcomes

EMAIL = AddressKind.email
ACCOUNT, KEY = "acme", "s3cret"
SENDER = "Acme News <news@acme.example>"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSendsay]:
    async with FakeSendsay(account=ACCOUNT, api_key=KEY) as server:
        server.confirm_sender("news@acme.example")
        yield server


def make_channel(
    fake: FakeSendsay, *, key: str = KEY, timeout: float = 5.0, relink: bool = True
) -> SendsayChannel:
    client = SendsayClient(ACCOUNT, key, base_url=fake.base_url, timeout=timeout)
    return SendsayChannel(client, sender=SENDER, relink=relink, concurrency=4)


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
    assert (ann["group"], ann["sendwhen"], ann["relink"]) == ("personal", "now", 1)
    letter = ann["letter"]
    assert letter["subject"] == "Default subject"
    assert (letter["from.email"], letter["from.name"]) == ("news@acme.example", "Acme News")
    html = letter["message"]["html"]
    assert '<b>Hi</b> Ann,<br>\nsee <a href="https://x.example">this</a>' in html
    assert letter["message"]["text"] == "Hi Ann,\nsee this (https://x.example)"
    assert sent["bob@example.ru"]["letter"]["subject"] == "For Bob"


@pytest.mark.parametrize("answer", ["track", "bare"])
async def test_any_plausible_answer_to_a_personal_send_is_delivered(answer: str) -> None:
    async with FakeSendsay(account=ACCOUNT, api_key=KEY) as fake:
        fake.variants = Variants(personal_answer=answer)
        fake.confirm_sender("news@acme.example")
        sendsay = make_channel(fake, relink=False)
        try:
            (result,) = await sendsay.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))
        finally:
            await sendsay.close()
    assert result.outcome is Outcome.delivered and result.provider_id
    assert fake.issues[0]["relink"] == 0


@pytest.mark.parametrize(
    ("key", "expired", "reason"),
    [
        ("not-the-key", False, "sendsay-reason-auth: error/auth/failed"),
        (KEY, True, "sendsay-reason-key-expired: error/auth/failed"),
    ],
)
async def test_a_wrong_or_expired_key_fails_and_never_refuses(
    fake: FakeSendsay, key: str, expired: bool, reason: str
) -> None:
    fake.expired = expired
    sendsay = make_channel(fake, key=key)
    try:
        results = await sendsay.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))
    finally:
        await sendsay.close()
    (result,) = results
    assert (result.outcome, result.error) == (Outcome.failed, reason)
    assert fake.issues == []


@pytest.mark.parametrize("state", ["unknown", "onmoderation", "prohibited"])
async def test_an_unconfirmed_sender_fails_with_a_reason_naming_it(
    fake: FakeSendsay, channel: SendsayChannel, state: str
) -> None:
    if state == "unknown":
        fake.senders.clear()
    else:
        fake.confirm_sender("news@acme.example", state)

    (result,) = await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))

    assert (result.outcome, result.error) == (
        Outcome.failed,
        f"sendsay-reason-sender: error/sender/{state}",
    )


async def test_a_recipients_data_never_runs_as_sendsay_code(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    fake.add_anketa("crm", "CRM", ["secret"])
    fake.add_group("g", "G", [{"email": "a@x.ru", "crm.secret": "LEAKED"}])
    body = "Hi [% anketa.crm.secret %]"  # as rendered from the recipient's own name

    (result,) = await channel.send(
        content(Channel.sendsay), messages(EMAIL, ["a@x.ru"], body, subject="[% x %]")
    )

    assert result.outcome is Outcome.delivered
    (letter,) = fake.personal_letters
    assert "LEAKED" not in letter["html"] + letter["text"] + letter["subject"]
    assert "Hi [&#37; anketa.crm.secret &#37;]" in letter["html"]


async def test_a_managers_text_with_sendsay_code_is_refused_for_everyone(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    run = content(Channel.sendsay, body="Hi [% anketa.crm.secret %]")

    results = await channel.send(run, messages(EMAIL, ["a@x.ru", "b@x.ru"]))

    assert {(r.outcome, r.error) for r in results} == {
        (Outcome.failed, "sendsay-reason-proscript")
    }
    assert fake.requests == []


async def test_a_rate_limit_is_retried_after_the_time_sendsay_asks(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    fake.fail_next("issue.send", status=429, retry_after=17)
    fake.fail_next("issue.send", errors=[{"id": "error/too_many_requests"}])
    fake.fail_next("issue.send", status=200, body="<html>Maintenance</html>")

    tries = [
        by_id(await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"])))[1]
        for _ in range(3)
    ]

    assert [(r.outcome, r.retry_after) for r in tries] == [
        (Outcome.retry, 17),
        (Outcome.retry, None),
        (Outcome.retry, None),
    ]
    assert tries[0].error is not None and tries[0].error.startswith("sendsay-reason-unavailable")
    assert "http/429" in tries[0].error
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
    assert result.error is not None
    assert result.error.startswith(f"sendsay-reason-uncertain: {UNCERTAIN}")


async def test_an_unusable_address_is_refused_and_other_errors_fail(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    fake.fail_next("issue.send", errors=[{"id": "error/letter/too_big"}])
    (odd,) = await channel.send(content(Channel.sendsay), messages(EMAIL, ["odd@x.ru"]))
    batch = messages(EMAIL, ["not-an-address", "ok@x.ru"])

    results = by_id(await channel.send(content(Channel.sendsay), batch))

    assert (odd.outcome, odd.error) == (
        Outcome.failed,
        "sendsay-reason-error: issue.send: error/letter/too_big",
    )
    assert {i: r.outcome for i, r in results.items()} == {
        1: Outcome.refused,
        2: Outcome.delivered,
    }
    assert results[1].error is not None and "error/email/syntax" in results[1].error
    assert [issue["email"] for issue in fake.issues] == ["ok@x.ru"]


async def test_a_redirect_is_followed_and_the_letter_sent_once(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    cluster = f"/clu7/general/api/v100/json/{ACCOUNT}"
    fake.move_to(cluster)

    (result,) = await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))

    assert result.outcome is Outcome.delivered
    assert [r.path for r in fake.requests] == [f"/general/api/v100/json/{ACCOUNT}", cluster]
    assert len(fake.issues) == 1


async def test_a_redirect_loop_fails_with_a_reason(
    fake: FakeSendsay, channel: SendsayChannel
) -> None:
    fake.redirect_forever()
    (result,) = await channel.send(content(Channel.sendsay), messages(EMAIL, ["a@x.ru"]))
    assert result.outcome is Outcome.failed
    assert result.error == "sendsay-reason-redirects: sendsay/too_many_redirects"


def test_only_address_errors_count_as_refusals() -> None:
    assert is_refusal("error/email/invalid")
    assert is_refusal("error/member/unsubscribed")
    assert is_refusal("error/email/stoplist")
    assert not is_refusal("error/account/blocked")  # our account: never the recipient's
    assert not is_refusal("error/sender/invalid")
    assert not is_refusal("error/email")
    assert not is_refusal("error/member/not_found")
