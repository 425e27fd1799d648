"""A/B tests (``domain.ab_test``): set in the mailing dialog, split by the launch's
snapshot, and decided when the waiting time is up (``decide_due``, every scheduler tick)
or by the manager's press before that (``pick_winner``).

Every change is checked where it is typed: an alternative that changes nothing or a
fifth variant (``ab-variants-same``, ``ab-variant-count``), a sample that cannot give each
variant enough people out of the mailing's reachable recipients (``ab-sample-too-small``),
a waiting time out of bounds. The launch checks them again against what it will send.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime

from domain.ab_test import (
    AB_TEST,
    ABTest,
    Decision,
    Metric,
    Part,
    Variant,
    VariantResult,
    check_sample,
    check_variants,
    metrics_for,
    parse_percent,
    parse_variant,
    parse_wait,
    parts_for,
)
from domain.answers import answer_labels
from domain.clock import Clock, SystemClock
from domain.errors import IllegalTransition, InvalidInput, NotFound
from domain.local_time import LOCAL_TIME
from domain.mailings import Mailing
from domain.personal import recipient_values
from domain.ports.ab_tests import ABTestStore
from domain.ports.rendering import MessageRenderer
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import MailingRun
from domain.tracking_plan import tracking_on
from domain.usecases import preview as previews
from domain.usecases.access import record
from domain.usecases.mailings import ensure_editable, load_own
from domain.usecases.segments import audience_of


def test_of(mailing: Mailing) -> ABTest | None:
    return ABTest.from_json(mailing.options.get(AB_TEST))


def metrics(mailing: Mailing) -> tuple[Metric, ...]:
    """What this mailing's test can be judged by (its channel, tracking, answer buttons)."""
    options = mailing.options
    tracked = tracking_on(options)
    return metrics_for(mailing.channel, tracked=tracked, answers=bool(answer_labels(options)))


async def add_variant(
    uow_factory: UnitOfWorkFactory,
    renderer: MessageRenderer,
    actor_id: int,
    mailing_id: int,
    part: Part,
    text: str,
) -> Mailing:
    """One more variant changing ``part`` (the first one starts the test and sets the
    part); refused when it changes nothing, makes a fifth variant, or would not send
    (the content step's checks, rendered off the event loop: a broken template or HTML,
    too long)."""
    variant = parse_variant(part, text)
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        test = _adding(mailing, part, variant)
        added = test.variants(mailing.subject, mailing.body)[-1]
        audience = await audience_of(uow, mailing)
    candidate = replace(mailing, subject=added.subject, body=added.body, template_id=None)
    values = recipient_values(audience.first) if audience.first else {}
    _, _, problems = await asyncio.to_thread(previews.content_notices, renderer, candidate, values)
    if problems:
        raise InvalidInput(problems[0].key, **problems[0].params)
    async with uow_factory() as uow:  # checked again against the mailing as it is now
        mailing = await _editable(uow, actor_id, mailing_id)
        return await _store(uow, mailing, _adding(mailing, part, variant))


def _adding(mailing: Mailing, part: Part, variant: Variant) -> ABTest:
    if part not in parts_for(mailing.channel):
        raise InvalidInput("ab-part-unavailable")
    if LOCAL_TIME in mailing.options:
        raise InvalidInput("ab-not-with-local-time")
    current = test_of(mailing) or ABTest(part, metric=metrics(mailing)[0])
    if current.part is not part:
        raise InvalidInput("ab-one-part")
    return current.adding(variant, mailing.subject, mailing.body)


async def remove_variant(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, index: int
) -> Mailing:
    """Without variant ``index`` (1 = B); without any alternative left, no test."""
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        test = test_of(mailing)
        if test is None or not 1 <= index <= len(test.alternatives):
            raise NotFound("ab-no-such-variant")
        smaller = test.without(index)
        return await _store(uow, mailing, smaller if smaller.alternatives else None)


async def remove(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> Mailing:
    async with uow_factory() as uow:
        return await _store(uow, await _editable(uow, actor_id, mailing_id), None)


async def set_sample(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, text: str
) -> Mailing:
    """The sample's share (``"20"``, ``"20 %"``), big enough to give each variant
    ``MIN_PER_VARIANT`` of the mailing's reachable recipients now."""
    percent = parse_percent(text)
    async with uow_factory() as uow:
        mailing, test = await _with_test(uow, actor_id, mailing_id)
        reachable = (await audience_of(uow, mailing)).reachable
        check_sample(reachable, percent, test.count)
        return await _store(uow, mailing, replace(test, percent=percent))


async def set_wait(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, text: str
) -> Mailing:
    wait = parse_wait(text)
    async with uow_factory() as uow:
        mailing, test = await _with_test(uow, actor_id, mailing_id)
        return await _store(uow, mailing, replace(test, wait=wait))


async def next_metric(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> Mailing:
    """The next metric this mailing's channel offers (the button cycles through them)."""
    async with uow_factory() as uow:
        mailing, test = await _with_test(uow, actor_id, mailing_id)
        offered = metrics(mailing)
        index = offered.index(test.metric) + 1 if test.metric in offered else 0
        return await _store(uow, mailing, replace(test, metric=offered[index % len(offered)]))


async def sample_size(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> int:
    """How many recipients the sample would have now (the step shows it)."""
    async with uow_factory() as uow:
        mailing, test = await _with_test(uow, actor_id, mailing_id)
        reachable = (await audience_of(uow, mailing)).reachable
    return int(reachable * test.percent // 100)


def check_launch(mailing: Mailing, reachable: int) -> ABTest | None:
    """The launch's checks of a mailing's test against what it will send now: the
    variants still differ from its (possibly edited) content, the sample still splits,
    the metric is still measured; None without a test."""
    test = test_of(mailing)
    if test is None:
        return None
    if LOCAL_TIME in mailing.options:
        raise InvalidInput("ab-not-with-local-time")
    check_variants(test.variants(mailing.subject, mailing.body))
    check_sample(reachable, test.percent, test.count)
    if test.metric not in metrics(mailing):
        raise InvalidInput("ab-metric-unavailable", metric=test.metric.value)
    return test


@dataclass(frozen=True, slots=True)
class Decided:
    """A test's winner went to the rest: whom to tell, and what."""

    run: MailingRun
    mailing_name: str
    owner_id: int  # who launched it, else the mailing's owner
    decision: Decision
    released: int  # recipients of the rest it went to


async def decide_due(
    uow_factory: UnitOfWorkFactory, store: ABTestStore, clock: Clock | None = None
) -> list[Decided]:
    """Every test whose waiting time is up: the best variant by its metric goes to the
    rest, exactly once (another instance, or a press meanwhile, finds it decided)."""
    now = (clock or SystemClock()).now()
    decided: list[Decided] = []
    for run_id in await store.due(now):
        done = await _decide(uow_factory, store, run_id, None, None, now)
        if done is not None:
            decided.append(done)
    return decided


async def pick_winner(
    uow_factory: UnitOfWorkFactory,
    store: ABTestStore,
    *,
    actor_id: int,
    run_id: int,
    variant: int,
    clock: Clock | None = None,
) -> Decided:
    """The manager picks the winner by hand before the waiting time is up."""
    now = (clock or SystemClock()).now()
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None:
            raise NotFound("ab-no-test")
        await load_own(uow, actor_id, run.mailing_id)
        if run.ended:  # cancelled: nothing more goes out
            raise IllegalTransition("ab-run-ended")
    done = await _decide(uow_factory, store, run_id, variant, actor_id, now)
    if done is None:
        raise IllegalTransition("ab-already-decided")
    return done


async def _decide(
    uow_factory: UnitOfWorkFactory,
    store: ABTestStore,
    run_id: int,
    chosen: int | None,
    actor_id: int | None,
    now: datetime,
) -> Decided | None:
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        mailing = await uow.mailings.get(run.mailing_id) if run is not None else None
    if run is None or run.ab_result is not None:
        return None
    test = ABTest.from_json(dict(run.content.get("options") or {}).get(AB_TEST))
    variants = len(run.content.get("variants") or ())
    if test is None or variants < 2:
        raise NotFound("ab-no-test")
    results = await store.results(run_id, test.metric, variants)
    decision = Decision.of(results, test.metric, chosen)
    released = await store.release(run_id, decision, now)
    if released is None:
        return None
    async with uow_factory() as uow:
        details = {"run": run_id, "winner": decision.winner, "by_hand": decision.by_hand}
        await record(uow, actor_id, "mailing.ab_winner", ("mailing", run.mailing_id), details)
        await uow.commit()
    name = mailing.name if mailing is not None else str(run.mailing_id)
    owner = run.launched_by or (mailing.owner_id if mailing is not None else 0)
    return Decided(run, name, owner, decision, released)


@dataclass(frozen=True, slots=True)
class Standing:
    """A run's test on its statistics card: each variant's results now (after the
    decision the winner's include the rest), and the verdict once there is one."""

    metric: Metric
    results: list[VariantResult]
    decision: Decision | None
    due_at: datetime | None  # when the winner is picked automatically

    @property
    def undecided(self) -> bool:
        return self.decision is None


async def standing(
    uow_factory: UnitOfWorkFactory, store: ABTestStore, actor_id: int, run_id: int
) -> Standing | None:
    """None for a run without a test."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None:
            return None
        await load_own(uow, actor_id, run.mailing_id)
    test = ABTest.from_json(dict(run.content.get("options") or {}).get(AB_TEST))
    variants = len(run.content.get("variants") or ())
    if test is None or variants < 2:
        return None
    results = await store.results(run_id, test.metric, variants)
    return Standing(test.metric, results, Decision.from_json(run.ab_result), run.ab_due_at)


async def _editable(uow: UnitOfWork, actor_id: int, mailing_id: int) -> Mailing:
    _, mailing = await load_own(uow, actor_id, mailing_id)
    ensure_editable(mailing)
    return mailing


async def _with_test(uow: UnitOfWork, actor_id: int, mailing_id: int) -> tuple[Mailing, ABTest]:
    mailing = await _editable(uow, actor_id, mailing_id)
    test = test_of(mailing)
    if test is None:
        raise InvalidInput("ab-needs-variant")
    return mailing, test


async def _store(uow: UnitOfWork, mailing: Mailing, test: ABTest | None) -> Mailing:
    options = {k: v for k, v in mailing.options.items() if k != AB_TEST}
    if test is not None:
        options[AB_TEST] = test.to_json()
    mailing.options = options
    await uow.mailings.update(mailing)
    await uow.commit()
    return mailing
