"""A run's results per segment (``domain.segment_results``): its own segment (when it
had one) and the caller's saved segments, on its statistics card."""

from __future__ import annotations

from domain.clock import Clock, SystemClock
from domain.errors import NotFound
from domain.ports.segments import SegmentResults
from domain.ports.uow import UnitOfWorkFactory
from domain.segment_results import MAX_SEGMENTS, SegmentResult
from domain.segments import Segment, local_today
from domain.usecases.mailings import load_own

OWN = ""  # the name under which the run's own segment comes back


async def by_segment(
    uow_factory: UnitOfWorkFactory,
    store: SegmentResults,
    *,
    actor_id: int,
    mailing_id: int,
    run_id: int,
    clock: Clock | None = None,
) -> list[SegmentResult]:
    """The run's recipients by segment; ``OWN`` names the mailing's own segment."""
    now = (clock or SystemClock()).now()
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        run = await uow.runs.get(run_id)
        if run is None or run.mailing_id != mailing_id:
            raise NotFound("stats-run-not-found")
        saved = await uow.segments.of_owner(actor_id)
    segments: list[tuple[str, Segment]] = []
    if not mailing.targeting.segment.is_empty:
        segments.append((OWN, mailing.targeting.segment))
    segments += [(s.name, s.segment) for s in saved[:MAX_SEGMENTS]]
    if not segments:
        return []
    today = local_today(mailing.schedule.timezone, now)
    return await store.results(run_id, segments, today)
