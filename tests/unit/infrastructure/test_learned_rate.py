"""The rate a limiter learns from 429s, and how it probes back up."""

from __future__ import annotations

import pytest

from infrastructure.channels.ratelimit_learning import FIRST_PROBE, LearnedRate


def test_a_429_sets_the_rate_to_what_the_server_counted() -> None:
    rate = LearnedRate(200.0)

    assert rate.learn(50, now=0.0)

    assert rate.rate == 50.0


def test_a_429_that_our_rate_did_not_cause_changes_nothing() -> None:
    rate = LearnedRate(30.0)

    assert not rate.learn(30, now=0.0)  # the window was full at our own rate: jitter
    assert not rate.learn(0, now=0.0)  # nothing counted: a chat's own limit, say
    assert rate.rate == 30.0


def test_the_rate_is_probed_a_tenth_higher_after_a_quiet_while_up_to_the_configured() -> None:
    rate = LearnedRate(60.0)
    rate.learn(50, now=0.0)

    assert not rate.probe(now=FIRST_PROBE - 1)
    assert rate.probe(now=FIRST_PROBE)
    assert rate.rate == pytest.approx(55.0)
    assert rate.probe(now=2 * FIRST_PROBE)
    assert rate.rate == 60.0  # never above what was configured
    assert not rate.probe(now=10 * FIRST_PROBE)


def test_a_probe_that_trips_a_429_waits_twice_as_long_before_the_next() -> None:
    rate = LearnedRate(200.0)
    rate.learn(50, now=0.0)
    rate.probe(now=FIRST_PROBE)

    rate.learn(50, now=FIRST_PROBE + 1)  # the probe failed at once

    assert rate.rate == 50.0
    assert not rate.probe(now=FIRST_PROBE + 1 + FIRST_PROBE)
    assert rate.probe(now=FIRST_PROBE + 1 + 2 * FIRST_PROBE)
