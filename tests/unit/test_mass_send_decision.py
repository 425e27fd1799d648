"""Which runs become one mass send (``domain.mass_send.goes_as_mass_send``), decided at the
snapshot: the channel's threshold reached, and no A/B test. The SQL queue that marks the
run is in ``tests/integration/test_sendsay_mass_send.py``."""

from __future__ import annotations

import pytest

from domain.mailings import Channel
from domain.mass_send import MassSendPhase, goes_as_mass_send, queued

SENDSAY_AT_1000 = {Channel.sendsay: 1000}


@pytest.mark.parametrize(
    ("recipients", "expected"),
    [(999, False), (1000, True), (250_000, True)],
)
def test_a_run_reaching_its_channels_threshold_goes_as_one_mass_send(
    recipients: int, expected: bool
) -> None:
    assert goes_as_mass_send(SENDSAY_AT_1000, Channel.sendsay, recipients, ab_test=False) is (
        expected
    )


@pytest.mark.parametrize("channel", [Channel.email, Channel.telegram, Channel.webhook])
def test_a_channel_without_a_threshold_never_does(channel: Channel) -> None:
    assert not goes_as_mass_send(SENDSAY_AT_1000, channel, 1_000_000, ab_test=False)
    assert not goes_as_mass_send({}, Channel.sendsay, 1_000_000, ab_test=False)


def test_an_ab_tests_variants_go_one_by_one_however_big() -> None:
    assert not goes_as_mass_send(SENDSAY_AT_1000, Channel.sendsay, 1_000_000, ab_test=True)


def test_an_empty_run_has_nothing_to_mass_send_even_at_a_threshold_of_one() -> None:
    assert not goes_as_mass_send({Channel.sendsay: 1}, Channel.sendsay, 0, ab_test=False)
    assert goes_as_mass_send({Channel.sendsay: 1}, Channel.sendsay, 1, ab_test=False)


def test_a_marked_run_starts_queued() -> None:
    assert MassSendPhase(queued()["phase"]) is MassSendPhase.queued
