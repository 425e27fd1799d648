"""Recalling and editing a run's Telegram copies (``domain.usecases.follow_ups``) on the
in-memory unit of work: which runs a follow-up may act on (with the refusal's key),
what the follow-up run carries, the 48-hour window, and an auto-delete started once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.answers import ANSWER_RUN, ANSWERS
from domain.errors import IllegalTransition, InvalidInput, NotFound
from domain.follow_ups import RECALL_WINDOW
from domain.mailings import Channel, Mailing, MailingStatus
from domain.runs import MailingRun, RunKind, RunStatus, RunTotals
from domain.usecases import follow_ups
from domain.usecases.follow_ups import EditOrder
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryDatabase, MemoryFollowUps, StatsUnread
from tests.fakes.team import ADMIN, MANAGER, NOW, OTHER, StillClock, team_database

SENT = NOW - timedelta(hours=3)


@pytest.fixture
def db() -> MemoryDatabase:
    return team_database()


async def a_send(
    db: MemoryDatabase,
    owner: int = MANAGER,
    *,
    channel: Channel = Channel.telegram,
    status: RunStatus = RunStatus.completed,
    delivered: int = 2,
    media: dict[str, object] | None = None,
    **run_fields: object,
) -> tuple[int, int]:
    """A mailing of ``owner`` and its send run; (mailing id, run id)."""
    async with db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(owner, f"M{len(db.mailings)}", channel, status=MailingStatus.completed)
        )
        content = {
            "mailing_id": mailing.id,
            "mailing_name": mailing.name,
            "channel": channel.value,
            "body": "Hello",
            "media": media,
            "options": {"buttons": [[{"text": "Go", "url": "https://x.io"}]], ANSWERS: ["Yes"]},
        }
        run = MailingRun(
            mailing.id or 0,
            SENT,
            content=content,
            status=status,
            totals=RunTotals(delivered=delivered),
            **run_fields,
        )
        stored = await uow.runs.add(run)
        await uow.commit()
    assert stored is not None
    return mailing.id or 0, stored.id or 0


async def test_a_recall_starts_a_follow_up_run_and_keeps_copies_older_than_48_hours(
    db: MemoryDatabase,
) -> None:
    mailing_id, run_id = await a_send(db)
    queue = MemoryFollowUps(db)
    old = NOW - RECALL_WINDOW - timedelta(minutes=1)
    queue.copies[run_id] = [old, SENT, SENT]
    started = await follow_ups.recall(
        db.uow_factory,
        queue,
        actor_id=MANAGER,
        mailing_id=mailing_id,
        run_id=run_id,
        clock=StillClock(),
    )
    assert (started.pending, started.kept) == (2, 1)
    run = db.runs[started.run_id]
    assert (run.kind, run.source_run_id, run.mailing_id) == (RunKind.recall, run_id, mailing_id)
    assert (run.status, run.launched_by, run.scheduled_for) == (RunStatus.running, MANAGER, NOW)
    assert run.content["kind"] == "recall" and run.content["paid"] is False
    entry = db.audit[-1]
    assert (entry.actor_id, entry.action, entry.target_id, entry.details) == (
        MANAGER,
        "mailing.recall",
        str(mailing_id),
        {"run": started.run_id, "of": run_id, "kept": 1},
    )
    # while it runs, no other follow-up may start
    with pytest.raises(IllegalTransition) as busy:
        await follow_ups.recall(
            db.uow_factory, queue, actor_id=MANAGER, mailing_id=mailing_id, run_id=run_id
        )
    assert busy.value.key == "followup-busy"


@pytest.mark.parametrize(
    ("send", "error", "key"),
    [
        ({"channel": Channel.email}, InvalidInput, "followup-telegram-only"),
        ({"status": RunStatus.running}, IllegalTransition, "followup-still-sending"),
        ({"status": RunStatus.paused}, IllegalTransition, "followup-still-sending"),
        ({"delivered": 0}, InvalidInput, "followup-nothing-delivered"),
        ({"kind": RunKind.recall}, InvalidInput, "followup-not-a-send"),
    ],
)
async def test_a_follow_up_is_refused_on_a_run_it_cannot_act_on(
    db: MemoryDatabase, send: dict[str, object], error: type[Exception], key: str
) -> None:
    mailing_id, run_id = await a_send(db, **send)
    queue = MemoryFollowUps(db)
    queue.copies[run_id] = [SENT]
    with pytest.raises(error) as refused:
        await follow_ups.recall(
            db.uow_factory, queue, actor_id=MANAGER, mailing_id=mailing_id, run_id=run_id
        )
    assert getattr(refused.value, "key", None) == key
    assert len(db.runs) == 1 and db.audit == []


async def test_a_follow_up_acts_only_on_the_callers_own_run(db: MemoryDatabase) -> None:
    their_mailing, their_run = await a_send(db, OTHER)
    my_mailing, _ = await a_send(db)
    queue = MemoryFollowUps(db)
    queue.copies[their_run] = [SENT]
    with pytest.raises(NotFound) as missing:
        await follow_ups.recall(
            db.uow_factory, queue, actor_id=MANAGER, mailing_id=their_mailing, run_id=their_run
        )
    assert missing.value.key == "mailings-not-found"
    with pytest.raises(NotFound) as missing:  # their run named under my mailing
        await follow_ups.recall(
            db.uow_factory, queue, actor_id=MANAGER, mailing_id=my_mailing, run_id=their_run
        )
    assert missing.value.key == "stats-run-not-found"
    assert len(db.runs) == 2
    started = await follow_ups.recall(  # an admin may
        db.uow_factory, queue, actor_id=ADMIN, mailing_id=their_mailing, run_id=their_run
    )
    assert db.runs[started.run_id].launched_by == ADMIN


async def test_nothing_left_to_recall_is_said_and_nothing_starts(db: MemoryDatabase) -> None:
    mailing_id, run_id = await a_send(db)
    with pytest.raises(InvalidInput) as refused:
        await follow_ups.recall(
            db.uow_factory,
            MemoryFollowUps(db),
            actor_id=MANAGER,
            mailing_id=mailing_id,
            run_id=run_id,
        )
    assert refused.value.key == "followup-nothing-left"
    assert len(db.runs) == 1 and db.audit == []


async def test_an_edit_carries_the_new_text_and_keeps_or_drops_the_buttons(
    db: MemoryDatabase,
) -> None:
    mailing_id, run_id = await a_send(db)
    queue = MemoryFollowUps(db)
    queue.copies[run_id] = [SENT, SENT]
    order = EditOrder(mailing_id, run_id, "Fixed, {{ name }}", keep_buttons=False)
    source, rendered = await follow_ups.check_edit(
        db.uow_factory, JinjaRenderer(), MANAGER, order, {"name": "Ann"}
    )
    assert source.id == run_id and rendered == "Fixed, Ann"
    started = await follow_ups.edit(
        db.uow_factory,
        queue,
        JinjaRenderer(),
        actor_id=MANAGER,
        order=order,
        example={"name": "Ann"},
        clock=StillClock(),
    )
    run = db.runs[started.run_id]
    assert (run.kind, started.pending, started.kept) == (RunKind.edit, 2, 0)  # no 48h limit
    assert run.content["body"] == "Fixed, {{ name }}"  # each recipient's values later
    options = run.content["options"]
    assert "buttons" not in options and ANSWERS not in options
    assert options[ANSWER_RUN] == run_id  # answers still go to the send run
    assert db.audit[-1].action == "mailing.edit"
    summaries = await follow_ups.summaries(
        db.uow_factory, StatsUnread(), run_id
    )  # the send run's card
    assert [(s.run.id, s.kept, s.done) for s in summaries] == [(started.run_id, 0, False)]
    db.runs[started.run_id].status = RunStatus.completed
    assert (await follow_ups.summaries(db.uow_factory, StatsUnread(), run_id))[0].done


async def test_an_edit_telegram_would_refuse_is_refused_first(db: MemoryDatabase) -> None:
    mailing_id, run_id = await a_send(db)
    photo_mailing, photo_run = await a_send(db, media={"type": "photo", "file_id": "f"})
    sticker_mailing, sticker_run = await a_send(db, media={"type": "sticker", "file_id": "s"})
    renderer = JinjaRenderer()
    cases = [
        (EditOrder(mailing_id, run_id, "<b>bold"), "content-html-unbalanced"),
        (EditOrder(mailing_id, run_id, "  "), "followup-edit-empty"),
        (EditOrder(mailing_id, run_id, "x" * 4097), "followup-edit-too-long"),
        (EditOrder(photo_mailing, photo_run, "x" * 1025), "followup-edit-too-long"),
        (EditOrder(sticker_mailing, sticker_run, "text"), "followup-edit-no-text"),
    ]
    for order, key in cases:  # (a photo's text is a caption: 1024 at most)
        with pytest.raises(InvalidInput) as refused:
            await follow_ups.check_edit(db.uow_factory, renderer, MANAGER, order, {})
        assert refused.value.key == key
    source, _ = await follow_ups.check_edit(
        db.uow_factory, renderer, MANAGER, EditOrder(photo_mailing, photo_run, "x" * 1024), {}
    )
    assert source.id == photo_run


async def test_an_auto_delete_starts_once_and_waits_for_a_busy_run(db: MemoryDatabase) -> None:
    due_at = NOW - timedelta(minutes=1)
    _, due = await a_send(db, autodelete_at=due_at)
    _, later = await a_send(db, autodelete_at=NOW + timedelta(hours=1))
    mailing_busy, busy = await a_send(db, autodelete_at=due_at)
    _, running = await a_send(db, status=RunStatus.running, autodelete_at=due_at)
    queue = MemoryFollowUps(db)
    for run_id in (due, later, busy, running):
        queue.copies[run_id] = [SENT]
    await follow_ups.recall(  # a recall by hand is still running on ``busy``
        db.uow_factory, queue, actor_id=MANAGER, mailing_id=mailing_busy, run_id=busy
    )
    started = await follow_ups.auto_delete_due(db.uow_factory, queue, StillClock())
    assert len(started) == 1
    recall = db.runs[started[0].run_id]
    assert (recall.kind, recall.source_run_id, recall.launched_by) == (RunKind.recall, due, None)
    assert db.runs[due].autodelete_at is None  # claimed: a second tick finds nothing
    assert db.audit[-1].action == "mailing.autodelete" and db.audit[-1].actor_id is None
    assert await follow_ups.auto_delete_due(db.uow_factory, queue, StillClock()) == []
    assert db.runs[busy].autodelete_at == due_at  # waits for the next tick
    assert db.runs[later].autodelete_at is not None and db.runs[running].autodelete_at
