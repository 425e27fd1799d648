"""When a mailing goes out as Telegram paid broadcasts, and what it may cost."""

from __future__ import annotations

from decimal import Decimal

from domain.delivery import RunContent
from domain.mailings import Channel, Mailing
from domain.paid import PaidEstimate, most_cost, sent_paid


def mailing(channel: Channel = Channel.telegram, *, fast: bool = True) -> Mailing:
    return Mailing(owner_id=1, name="Flash", channel=channel, body="Hi", fast=fast, id=9)


def test_a_fast_telegram_mailing_is_paid_only_above_the_free_rate() -> None:
    assert sent_paid(mailing(), rate=1000)
    assert sent_paid(mailing(), rate=31)
    assert not sent_paid(mailing(), rate=30)  # Telegram sends 30/s for nothing
    assert not sent_paid(mailing(fast=False), rate=1000)
    assert not sent_paid(mailing(Channel.email), rate=1000)


def test_every_message_may_cost_a_tenth_of_a_star() -> None:
    assert most_cost(5_000) == Decimal("500.0")
    assert most_cost(0) == 0


def test_the_balance_must_cover_the_most_it_may_cost() -> None:
    assert PaidEstimate(1000, 30, Decimal("3")).covered
    assert not PaidEstimate(1000, 31, Decimal("3")).covered
    assert not PaidEstimate(1000, 1, None).covered  # unknown is not enough


def test_a_run_of_a_fast_mailing_is_paid_but_its_test_send_never_is() -> None:
    assert RunContent.of(mailing()).paid
    assert not RunContent.of(mailing(), test=True).paid
    assert RunContent.from_json(RunContent.of(mailing()).to_json()).paid
    assert not RunContent.from_json({**RunContent.of(mailing()).to_json(), "paid": None}).paid
