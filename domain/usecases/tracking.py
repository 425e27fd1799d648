"""Opens and clicks, as the bot's web server hears them.

A tampered or unknown token, or a link index the run never had, finds nothing (the web
server answers 404): the redirect only ever leads to a link of the run's own content.
A click that comes within ``BOT_WINDOW`` of the delivery (or before it was recorded) is
a link scanner's: counted apart, never as a person's click. A person's open or click
also shows the mailbox works, so it resets the address's soft bounces in a row.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from domain.delivery import RunContent
from domain.engagement import ClickCount, DeliveryRef, LinkClicks, RunEngagement
from domain.ports.stats import EngagementReader
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import DeliveryStatus
from domain.tracking import ClickRef, TrackingUrls, link_targets, probable_bot
from domain.tracking_plan import tracking_on, utm_tags

_CACHED_RUNS = 256
MAX_PENDING = 100_000  # clicks kept for the next flush while the database is away


@dataclass(frozen=True, slots=True)
class _Click:
    ref: ClickRef
    at: datetime


@dataclass
class Tracker:
    """Records opens and clicks; keeps the link targets of recent runs (a run's content
    never changes once launched), so a redirect costs no read of the run.

    A click is answered at once and counted by ``flush`` (every fraction of a second, by
    the web server's task): one transaction for all the clicks that came meanwhile, with
    one increment per run and link. Counting each click in a transaction of its own made
    every redirect queue for the run's totals row (~150 clicks/s, p95 270 ms,
    bench/redirect.py); counting them one by one in the flush kept up with ~200 clicks/s
    (22,000 clicks counted 104 s after the load), so a batch is counted with a few
    multi-row statements. A crash loses at most the clicks of the last interval."""

    uow_factory: UnitOfWorkFactory
    urls: TrackingUrls
    _targets: OrderedDict[int, tuple[str, ...]] = field(default_factory=OrderedDict)
    _clicks: list[_Click] = field(default_factory=list)
    _flushing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def open(self, token: str, now: datetime) -> bool:
        """Whether the token is genuine (the pixel is served either way)."""
        ref = self.urls.read_open(token)
        if ref is None:
            return False
        async with self.uow_factory() as uow:
            delivery = await uow.tracking.delivery(ref.delivery_id)
            if delivery is not None and delivery.run_id != ref.run_id:
                return False
            if await uow.tracking.first_open(ref.run_id, ref.delivery_id, now):
                await uow.tracking.add_to_run(ref.run_id, opened=1)
                if delivery is not None:
                    await uow.tracking.reset_soft_bounces({delivery.address_id})
            await uow.commit()
        return True

    async def click(self, token: str, now: datetime) -> str | None:
        """Where a genuine click leads (counted at the next ``flush``); ``None`` else."""
        ref = self.urls.read_click(token)
        if ref is None:
            return None
        targets = await self._targets_of(ref.run_id)
        if targets is None or ref.index >= len(targets):
            return None
        self._clicks.append(_Click(ref, now))
        return targets[ref.index]

    async def flush(self) -> int:
        """Count the clicks answered since the last flush; how many. If the database
        fails, they wait for the next flush (the latest ``MAX_PENDING`` of them).

        Flushes take turns: when one returns, every click answered before it was called is
        counted, even those another flush (the web server's) had taken and was counting."""
        async with self._flushing:
            clicks, self._clicks = self._clicks, []
            if not clicks:
                return 0
            try:
                await self._count(clicks)
            except BaseException:
                self._clicks = [*clicks, *self._clicks][-MAX_PENDING:]
                raise
            return len(clicks)

    async def _count(self, clicks: list[_Click]) -> None:
        """A few statements for the whole batch (``TrackingStore.add_clicks``)."""
        runs: defaultdict[int, Counter[str]] = defaultdict(Counter)
        links: defaultdict[tuple[int, int], Counter[str]] = defaultdict(Counter)
        people: dict[tuple[int, int, int], ClickCount] = {}
        async with self.uow_factory() as uow:
            known = await uow.tracking.deliveries({c.ref.delivery_id for c in clicks})
            for click in clicks:
                ref = click.ref
                delivery = known.get(ref.delivery_id)
                if delivery is not None and delivery.run_id != ref.run_id:
                    continue
                run, link = runs[ref.run_id], links[(ref.run_id, ref.index)]
                if probable_bot(click.at, _delivered_at(delivery, click.at)):
                    run["bot_clicks"] += 1
                    link["bot_clicks"] += 1
                    continue
                run["clicks"] += 1
                link["clicks"] += 1
                key = (ref.run_id, ref.delivery_id, ref.index)
                had = people.get(key)
                people[key] = ClickCount(
                    *key, (had.count if had else 0) + 1, had.first_at if had else click.at
                )
            first = await uow.tracking.add_clicks(list(people.values()))
            run_of = {c.delivery_id: c.run_id for c in people.values()}
            for delivery_id in first.deliveries:
                runs[run_of[delivery_id]]["clicked"] += 1
            for delivery_id, index in first.links:
                links[(run_of[delivery_id], index)]["unique_clicks"] += 1
            for (run_id, index), counts in sorted(links.items()):
                await uow.tracking.add_to_link(run_id, index, **counts)
            for run_id, counts in sorted(runs.items()):
                await uow.tracking.add_to_run(run_id, **counts)
            await uow.tracking.reset_soft_bounces(
                {known[d].address_id for d in first.deliveries if d in known}
            )
            await uow.commit()

    async def _targets_of(self, run_id: int) -> tuple[str, ...] | None:
        if run_id in self._targets:
            self._targets.move_to_end(run_id)
            return self._targets[run_id]
        async with self.uow_factory() as uow:
            data = await uow.tracking.run_content(run_id)
        if not data:
            return None
        content = RunContent.from_json(dict(data))
        targets = tuple(link_targets(content.links, utm_tags(content)))
        self._targets[run_id] = targets
        if len(self._targets) > _CACHED_RUNS:
            self._targets.popitem(last=False)
        return targets


def _delivered_at(delivery: DeliveryRef | None, now: datetime) -> datetime | None:
    """When the delivery was recorded as sent; a delivery still being sent counts as
    sent now (a scanner can fetch a link before the worker records the batch)."""
    if delivery is None:
        return None
    if delivery.status in (DeliveryStatus.sending, DeliveryStatus.pending):
        return now
    return delivery.updated_at if delivery.status is DeliveryStatus.delivered else None


@dataclass(frozen=True, slots=True)
class RunTracking:
    """What the statistics screen shows of a run after sending."""

    engagement: RunEngagement
    links: list[LinkClicks]
    tracked: bool  # the run was sent with tracking on (else opens and clicks are unknown)


async def run_tracking(reader: EngagementReader, run_id: int) -> RunTracking | None:
    """The caller checked the rights (``engagement_stats``)."""
    data = await reader.run_content(run_id)
    if not data:  # the run is gone (or older than frozen contents)
        return None
    engagement = await reader.engagement(run_id)
    counted = await reader.link_clicks(run_id)
    content = RunContent.from_json(dict(data))
    links = [LinkClicks(i, url, *_counts(counted.get(i))) for i, url in enumerate(content.links)]
    return RunTracking(engagement, links, tracking_on(content.options))


def _counts(found: LinkClicks | None) -> tuple[int, int, int]:
    if found is None:
        return 0, 0, 0
    return found.clicks, found.unique_clicks, found.bot_clicks
