"""The pure parts of the Sendsay mass send: which templates it can take, how they are
translated, and how a ``stat.uni`` row becomes a recipient's outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from domain.delivery import Outcome, RunContent
from domain.mailings import Channel
from infrastructure.channels.sendsay_mass import SendsayMassSender, status_of, to_sendsay
from infrastructure.sendsay import SendsayClient


def content(body: str, subject: str | None = None) -> RunContent:
    return RunContent(1, "Digest", Channel.sendsay, body, subject)


@pytest.fixture
async def sender() -> AsyncIterator[SendsayMassSender]:
    client = SendsayClient("acme", "k")
    yield SendsayMassSender(client, sender="News <n@acme.example>")
    await client.aclose()


@pytest.mark.parametrize(
    ("body", "subject", "fits"),
    [
        ("Hello", None, True),
        ("Hello {{ name }}, from {{city}}", "For {{ name }}", True),
        ("{% if name %}Hi {{ name }}{% endif %}", None, False),
        ("Hi {{ name | upper }}", None, False),
        ("Hi", "{# a comment #}News", False),
        ("Hi {{ attrs['x'] }}", None, False),
    ],
)
async def test_only_plain_placeholders_can_go_as_one_issue(
    sender: SendsayMassSender, body: str, subject: str | None, fits: bool
) -> None:
    assert sender.can_mass_send(content(body, subject)) is fits


def test_placeholders_become_sendsay_member_fields() -> None:
    assert to_sendsay("<b>Hi</b> {{ name }} of {{city}}") == (
        "<b>Hi</b> [% anketa.mailforge.name %] of [% anketa.mailforge.city %]"
    )


@pytest.mark.parametrize(
    ("row", "outcome", "reason"),
    [
        (["a@x.ru", "1", None], Outcome.delivered, None),
        (["a@x.ru", 1, None], Outcome.delivered, None),
        (["a@x.ru", "0", None], None, None),
        (["a@x.ru", None, None], None, None),
        (["a@x.ru", "-1", "452 mailbox full"], Outcome.failed, "soft bounce: 452 mailbox full"),
        (["a@x.ru", "-2", "550 no user"], Outcome.refused, "hard bounce: 550 no user"),
        (["a@x.ru", "-3", ""], Outcome.refused, "unsubscribed or stop-listed"),
        (["a@x.ru", "-9", None], Outcome.failed, "status -9"),
    ],
)
def test_a_statistics_row_becomes_an_outcome_with_its_reason(
    row: list[object], outcome: Outcome | None, reason: str | None
) -> None:
    status = status_of(row)
    assert status.address == "a@x.ru" and status.outcome is outcome
    if reason is None:
        assert status.error is None
    else:
        assert status.error == f"sendsay: {reason}"
