"""Failure reasons grouped by kind: one line per SMTP code and enhanced status, per Bot
API description, per error text without the address in it."""

from __future__ import annotations

from domain.failures import failure_kind, group_reasons
from domain.stats import FailureReason


def test_smtp_replies_group_by_code_and_enhanced_status_whatever_address_they_name() -> None:
    one = failure_kind("550 5.1.1 <ann@x.ru>: Recipient address rejected: User unknown")
    two = failure_kind("550 5.1.1 <bob@y.ru>: Recipient address rejected: User unknown")
    assert one == two == ("550 5.1.1", "550 5.1.1 Recipient address rejected: User unknown")
    assert (
        failure_kind("550-5.1.1 The email account that you tried to reach does not exist")[0]
        == "550 5.1.1"
    )
    assert failure_kind("552 5.2.2 Mailbox full")[0] != one[0]


def test_an_smtp_reply_without_an_enhanced_status_groups_by_code_and_text() -> None:
    assert failure_kind("550 No such user carl@z.ru") == ("550 No such user", "550 No such user")
    assert failure_kind("554 Message rejected")[0] != failure_kind("550 No such user")[0]


def test_other_texts_group_without_what_names_one_recipient() -> None:
    assert failure_kind("Telegram server says - Forbidden: bot was blocked by the user") == (
        "Forbidden: bot was blocked by the user",
        "Forbidden: bot was blocked by the user",
    )
    assert failure_kind("ValueError: cannot send to 'a b@x.ru'")[1] == (
        "ValueError: cannot send to"
    )
    assert failure_kind("Bad Request: can't parse entities: Can't find end")[1] == (
        "Bad Request: can't parse entities: Can't find end"
    )
    assert (
        failure_kind("chat 1234567890 not found")[0] == failure_kind("chat 42424242 not found")[0]
    )


def test_reasons_are_counted_by_kind_most_common_first() -> None:
    rows = [
        ("refused", f"550 5.1.1 <user{i}@x.ru>: Recipient address rejected", 1) for i in range(11)
    ] + [
        ("refused", "Forbidden: bot was blocked by the user", 3),
        ("failed", "", 2),
        ("failed", "421 4.7.0 Try again later", 1),
    ]
    assert group_reasons(rows, limit=3) == [
        FailureReason("refused", "550 5.1.1 Recipient address rejected", 11),
        FailureReason("refused", "Forbidden: bot was blocked by the user", 3),
        FailureReason("failed", "", 2),
    ]
