"""A run's results per segment, from its statistics card (🎯 By segment): its mailing's
own segment and the manager's saved ones (``domain.usecases.segment_stats``)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from domain.segment_results import SegmentResult
from domain.usecases import segment_stats
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.services import Services


class SegmentStatsCD(CallbackData, prefix="sgs"):
    """Untrusted: the use case checks the caller's rights."""

    mailing_id: int
    run_id: int


def segment_lines(results: list[SegmentResult]) -> list[str]:
    lines = []
    for r in results:
        name = r.name if r.name != segment_stats.OWN else t("stats-segment-own")
        lines.append(
            t(
                "stats-segment-line",
                name=name,
                count=r.recipients,
                delivered=r.delivered,
                delivered_share=r.share(r.delivered),
                opened=r.opened,
                opened_share=r.share(r.opened),
                clicked=r.clicked,
                clicked_share=r.share(r.clicked),
            )
        )
    return lines


async def on_segments(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentStatsCD,
    user: User,
    services: Services,
) -> None:
    if services.segment_results is None:
        await query.answer(t("error-stale-button"))
        return
    results = await segment_stats.by_segment(
        services.uow_factory,
        services.segment_results,
        actor_id=user.telegram_id,
        mailing_id=callback_data.mailing_id,
        run_id=callback_data.run_id,
        clock=services.clock,
    )
    await query.answer()
    if not results:
        await message.answer(t("stats-segments-none"))
        return
    title = t("stats-segments-title", run=callback_data.run_id)
    await message.answer("\n".join([title, *segment_lines(results)]))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.callback_query.register(on_segments, SegmentStatsCD.filter())
    return router
