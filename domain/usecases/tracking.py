"""Opens and clicks, as the bot's web server hears them.

A tampered or unknown token, or a link index the run never had, finds nothing (the web
server answers 404): the redirect only ever leads to a link of the run's own content.
A click that comes within ``BOT_WINDOW`` of the delivery (or before it was recorded) is
a link scanner's: counted apart, never as a person's click. A person's open or click
also shows the mailbox works, so it resets the address's soft bounces in a row.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from domain.delivery import RunContent
from domain.engagement import DeliveryRef, LinkClicks, RunEngagement
from domain.ports import UnitOfWorkFactory
from domain.runs import DeliveryStatus
from domain.tracking import ClickRef, TrackingUrls, link_targets, probable_bot
from domain.tracking_plan import utm_tags

_CACHED_RUNS = 256


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
    bench/redirect.py); a crash loses at most the clicks of the last interval."""

    uow_factory: UnitOfWorkFactory
    urls: TrackingUrls
    _targets: OrderedDict[int, tuple[str, ...]] = field(default_factory=OrderedDict)
    _clicks: list[_Click] = field(default_factory=list)

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
                    await uow.tracking.reset_soft_bounces(delivery.address_id)
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
        """Count the clicks answered since the last flush; how many."""
        clicks, self._clicks = self._clicks, []
        if not clicks:
            return 0
        runs: defaultdict[int, Counter[str]] = defaultdict(Counter)
        links: defaultdict[tuple[int, int], Counter[str]] = defaultdict(Counter)
        async with self.uow_factory() as uow:
            for click in clicks:
                ref = click.ref
                delivery = await uow.tracking.delivery(ref.delivery_id)
                if delivery is not None and delivery.run_id != ref.run_id:
                    continue
                run, link = runs[ref.run_id], links[(ref.run_id, ref.index)]
                if probable_bot(click.at, _delivered_at(delivery, click.at)):
                    run["bot_clicks"] += 1
                    link["bot_clicks"] += 1
                    continue
                first, first_on_link = await uow.tracking.first_click(
                    ref.run_id, ref.delivery_id, ref.index, click.at
                )
                run["clicks"] += 1
                run["clicked"] += int(first)
                link["clicks"] += 1
                link["unique_clicks"] += int(first_on_link)
                if first and delivery is not None:
                    await uow.tracking.reset_soft_bounces(delivery.address_id)
            for (run_id, index), counts in sorted(links.items()):
                await uow.tracking.add_to_link(run_id, index, **counts)
            for run_id, counts in sorted(runs.items()):
                await uow.tracking.add_to_run(run_id, **counts)
            await uow.commit()
        return len(clicks)

    async def _targets_of(self, run_id: int) -> tuple[str, ...] | None:
        if run_id in self._targets:
            self._targets.move_to_end(run_id)
            return self._targets[run_id]
        async with self.uow_factory() as uow:
            data = await uow.tracking.run_content(run_id)
        if data is None:
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


async def run_tracking(uow_factory: UnitOfWorkFactory, run_id: int) -> RunTracking | None:
    async with uow_factory() as uow:
        data = await uow.tracking.run_content(run_id)
        if data is None:
            return None
        engagement = await uow.tracking.engagement(run_id)
        counted = await uow.tracking.link_clicks(run_id)
    content = RunContent.from_json(dict(data))
    links = [LinkClicks(i, url, *_counts(counted.get(i))) for i, url in enumerate(content.links)]
    tracked = content.options.get("tracking", True) is not False
    return RunTracking(engagement, links, tracked)


def _counts(found: LinkClicks | None) -> tuple[int, int, int]:
    if found is None:
        return 0, 0, 0
    return found.clicks, found.unique_clicks, found.bot_clicks
