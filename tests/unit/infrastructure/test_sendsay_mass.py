"""The pure parts of the Sendsay adapter: which templates can go as one issue, how they
become Sendsay letters (PROScript, links, defused markers), group ids, how a ``stat.uni``
row becomes a recipient's outcome, and how a raw row is logged without personal data."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domain.delivery import Outcome, RunContent
from domain.mailings import Channel
from infrastructure.channels.sendsay_mass import SendsayMassSender, group_id
from infrastructure.sendsay import SendsayClient
from infrastructure.sendsay.letter import (
    has_code,
    link_value,
    placeholders,
    rendered_letter,
    template_letter,
    to_sendsay,
)
from infrastructure.sendsay.members import member_row
from infrastructure.sendsay.stats import masked, status_of


def content(body: str, subject: str | None = None) -> RunContent:
    return RunContent(1, "Digest", Channel.sendsay, body, subject)


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
    body: str, subject: str | None, fits: bool
) -> None:
    async with SendsayClient("acme", "k") as client:
        sender = SendsayMassSender(client, sender="News <n@acme.example>")
        assert sender.can_mass_send(content(body, subject)) is fits


def test_placeholders_become_anketa_fields_of_the_template_language() -> None:
    assert to_sendsay("<b>Hi</b> {{ first_name }} of {{city}}") == (
        "<b>Hi</b> [% anketa.mailforge.first_name %] of [% anketa.mailforge.city %]"
    )
    assert placeholders("Hi {{ a }}", "{{b}} and {{ a }}") == {"a", "b"}


def test_a_link_whose_address_is_a_placeholder_stays_a_link() -> None:
    body = '<a href="{{ url }}">your page</a> and <a href="https://x.ru/?u={{ id }}">more</a>'
    letter = template_letter("Hi {{ first_name }}", body, "News", "n@acme.example")

    html = letter["message"]["html"]
    assert '<a href="[% anketa.mailforge.url %]">your page</a>' in html
    assert '<a href="https://x.ru/?u=[% anketa.mailforge.id %]">more</a>' in html
    assert "[% anketa.mailforge.url %]" in letter["message"]["text"]
    assert letter["subject"] == "Hi [% anketa.mailforge.first_name %]"
    assert (letter["from.email"], letter["from.name"]) == ("n@acme.example", "News")


def test_a_script_link_value_is_dropped_and_web_links_kept() -> None:
    assert link_value("javascript:alert(1)") == ""
    assert link_value(" DATA:text/html,x") == ""
    assert link_value("https://example.com/a") == "https://example.com/a"


def test_markers_in_a_rendered_personal_letter_cannot_run_at_sendsay() -> None:
    letter = rendered_letter("Hi [% x %]", "Dear [% anketa.a.b %]", "", "n@acme.example")

    for text in (letter["subject"], letter["message"]["html"], letter["message"]["text"]):
        assert "[%" not in text and "%]" not in text
    assert "Dear [&#37; anketa.a.b &#37;]" in letter["message"]["html"]
    assert "from.name" not in letter


@pytest.mark.parametrize(
    ("texts", "code"),
    [(("Hi [% x %]",), True), (("Hi", "Sale 50%]"), True), (("50% off", "[x]"), False)],
)
def test_sendsay_template_markers_are_found_in_any_text(
    texts: tuple[str, ...], code: bool
) -> None:
    assert has_code(*texts) is code


def test_group_ids_use_only_letters_digits_and_underscores() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_]+", group_id(1234))


@pytest.mark.parametrize(
    ("row", "outcome", "error"),
    [
        ({"deliv.member.email": "a@x.ru", "deliv.result": "1"}, Outcome.delivered, None),
        ({"deliv.member.email": "a@x.ru", "deliv.result": 1}, Outcome.delivered, None),
        ({"deliv.member.email": "a@x.ru", "deliv.result": "0"}, None, None),
        ({"deliv.member.email": "a@x.ru"}, None, None),
        (
            {"deliv.member.email": "a@x.ru", "deliv.result": "-1", "deliv.error": "550 no"},
            Outcome.failed,
            "sendsay-reason-not-delivered: 550 no",
        ),
        (
            {"deliv.member.email": "a@x.ru", "deliv.result": -1},
            Outcome.failed,
            "sendsay-reason-not-delivered",
        ),
        (
            {"deliv.member.email": "a@x.ru", "deliv.result": "-3"},
            Outcome.failed,
            "sendsay-reason-result: -3",
        ),
        (
            {"deliv.member.email": "a@x.ru", "deliv.result": "7", "deliv.error": "x"},
            Outcome.failed,
            "sendsay-reason-result: 7 (x)",
        ),
    ],
)
def test_deliv_result_1_is_delivered_minus_1_failed_and_unknown_failed_with_its_code(
    row: dict[str, Any], outcome: Outcome | None, error: str | None
) -> None:
    status = status_of(row)
    assert (status.address, status.outcome, status.error) == ("a@x.ru", outcome, error)


def test_a_logged_row_masks_every_address() -> None:
    row = {
        "deliv.member.email": "ann@example.ru",
        "deliv.result": "-1",
        "deliv.status": -1,
        "deliv.error": "550 5.1.1 <ann@example.ru>: no such user",
    }
    assert masked(row) == {
        "deliv.member.email": "<email>",
        "deliv.result": "-1",
        "deliv.status": -1,
        "deliv.error": "550 5.1.1 <<email>>: no such user",
    }


@pytest.mark.parametrize(
    ("raw", "order", "expected"),
    [
        ("a@x.ru", None, {"email": "a@x.ru"}),
        (
            {"member.email": "a@x.ru", "mailforge.first_name": "Ann", "member.id": 3},
            None,
            {"email": "a@x.ru", "first_name": "Ann"},
        ),
        (
            {"member": {"email": "a@x.ru"}, "base": {"city": "Omsk"}, "custom": {"city": "O"}},
            None,
            {"email": "a@x.ru", "base_city": "Omsk", "custom_city": "O"},
        ),
        (
            ["a@x.ru", "Ann"],
            [{"quest": "member.email"}, {"quest": "base.firstName"}],
            {"email": "a@x.ru", "firstName": "Ann"},
        ),
    ],
)
def test_member_rows_are_named_after_their_quests(
    raw: Any, order: list[Any] | None, expected: dict[str, str]
) -> None:
    assert member_row(raw, order) == expected
