"""The pure parts of the Sendsay mass send: which templates it can take, how they are
translated, how members are captioned, which error ids mean "already there", where the
issue id is found, and how a ``stat.uni`` row becomes a recipient's outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from domain.delivery import Outcome, RunContent
from domain.mailings import Channel
from infrastructure.channels.sendsay_mass import (
    REASON_COLUMN,
    REPORT_SELECT,
    SendsayMassSender,
    caption_of,
    issue_id_in,
    placeholders,
    status_of,
    to_sendsay,
)
from infrastructure.sendsay import SendsayClient, SendsayError
from infrastructure.sendsay.errors import means_already_exists


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
        (["a@x.ru", "1"], Outcome.delivered, None),  # no reason column: a shorter row
        (["a@x.ru", "0", None], None, None),
        (["a@x.ru", 0], None, None),
        (["a@x.ru", None, None], None, None),
        (["a@x.ru"], None, None),
        (["a@x.ru", "-1", "452 mailbox full"], Outcome.failed, "not delivered: 452 mailbox full"),
        (["a@x.ru", -1], Outcome.failed, "not delivered"),
        (["a@x.ru", "-1", ""], Outcome.failed, "not delivered"),
        # No evidence for other codes: failed with the code...
        (["a@x.ru", "-3", None], Outcome.failed, "result -3"),
        (["a@x.ru", "-2", "timeout"], Outcome.failed, "result -2: timeout"),
        # ...unless the reason is the receiving server's permanent reply: a hard bounce.
        (["a@x.ru", "-2", "550 no user"], Outcome.refused, "result -2: 550 no user"),
        (
            ["a@x.ru", "-1", "550 5.1.1 no such user"],
            Outcome.refused,
            "not delivered: 550 5.1.1 no such user",
        ),
        (["a@x.ru", "-1", "5.7.1 blocked"], Outcome.refused, "not delivered: 5.7.1 blocked"),
        (["a@x.ru", "-1", "452 4.2.2 full"], Outcome.failed, "not delivered: 452 4.2.2 full"),
        (["a@x.ru", "-1", "5000 retries"], Outcome.failed, "not delivered: 5000 retries"),
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


def test_the_report_reads_deliv_result_and_asks_for_the_reason_last() -> None:
    assert REPORT_SELECT == ["deliv.member.email", "deliv.result"]
    assert REASON_COLUMN == "deliv.error"


def test_members_go_in_the_documented_datakey_caption() -> None:
    assert caption_of(["city", "name"]) == [
        {"datakey": "member.email", "mode": "set"},
        {"datakey": "anketa.mailforge.city", "mode": "set"},
        {"datakey": "anketa.mailforge.name", "mode": "set"},
    ]


def test_the_placeholders_of_a_template_are_its_quests() -> None:
    assert placeholders("Hi {{ name }}, {{city}}", "For {{ name }}", "plain") == {"name", "city"}


@pytest.mark.parametrize(
    ("error_id", "exists"),
    [
        ("error/group/exists", True),
        ("error/anketa/already_exists", True),
        ("error/anketa/quest/id_exists", True),
        ("error/account_exists", True),  # "nt_exists" is not a negation
        ("group_id_not_exists", False),
        ("error/anketa/not_exists", False),
        ("error/anketa/quest/not.exist", False),
        ("error/group/notExists", False),
        ("error/group/nonexistent", False),
        ("error/group/does_not_exist", False),
        ("error/group/doesnt_exist", False),
        ("error/group/not_found", False),
        ("error/group/invalid", False),
    ],
)
def test_only_an_already_exists_id_counts_as_already_there(error_id: str, exists: bool) -> None:
    assert means_already_exists(error_id) is exists
    assert SendsayError(error_id).already_exists is exists


@pytest.mark.parametrize(
    ("data", "issue"),
    [
        ({"track.id": 7, "issue.id": 1001}, 1001),
        ({"track.id": 7}, None),
        ({"issue.id": ""}, None),
        ({"id": 7, "status": -1, "issue": {"id": "1001"}}, "1001"),
        ({"id": 7, "status": -1, "issue": 5}, None),  # not an object: not known to be it
    ],
)
def test_the_issue_id_is_found_flat_or_nested(data: dict[str, object], issue: object) -> None:
    assert issue_id_in(data) == issue
