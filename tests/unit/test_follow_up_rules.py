"""Rules of follow-ups (recall, edit): which runs they may act on, what new text Telegram
takes, what is out of the 48-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.answers import callback_data, clean_answers
from domain.delivery import RunContent
from domain.errors import DomainError
from domain.follow_ups import (
    AUTODELETE,
    autodelete_at,
    autodelete_hours,
    check_new_text,
    check_source,
    check_text_editable,
    edited_content,
    is_caption,
    kept_before,
    next_autodelete,
)
from domain.runs import MailingRun, RunKind, RunStatus, RunTotals

T0 = datetime(2026, 12, 7, 12, tzinfo=UTC)
CONTENT = {
    "mailing_id": 1,
    "mailing_name": "News",
    "channel": "telegram",
    "body": "Hi",
    "options": {"buttons": [[{"text": "Open", "url": "https://example.com"}]]},
    "paid": True,
}


def run(**changes: object) -> MailingRun:
    base: dict[str, object] = {
        "mailing_id": 1,
        "scheduled_for": T0,
        "content": CONTENT,
        "status": RunStatus.completed,
        "totals": RunTotals(delivered=3),
        "id": 5,
    }
    base.update(changes)
    return MailingRun(**base)  # type: ignore[arg-type]


def key_of(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.key


def test_only_a_finished_telegram_send_run_with_copies_and_no_follow_up_running() -> None:
    check_source(run(), [])
    assert key_of(lambda: check_source(run(kind=RunKind.recall), [])) == "followup-not-a-send"
    email = {**CONTENT, "channel": "email"}
    assert key_of(lambda: check_source(run(content=email), [])) == "followup-telegram-only"
    sending = run(status=RunStatus.running)
    assert key_of(lambda: check_source(sending, [])) == "followup-still-sending"
    nothing = run(totals=RunTotals(failed=3))
    assert key_of(lambda: check_source(nothing, [])) == "followup-nothing-delivered"
    busy = run(kind=RunKind.recall, status=RunStatus.running)
    assert key_of(lambda: check_source(run(), [busy])) == "followup-busy"
    done = run(kind=RunKind.recall, status=RunStatus.completed)
    check_source(run(), [done])


def test_recall_keeps_what_is_48_hours_old_and_edit_has_no_window() -> None:
    assert kept_before(RunKind.recall, T0) == T0 - timedelta(hours=48)
    assert kept_before(RunKind.edit, T0) is None


def test_new_text_within_telegram_limits() -> None:
    check_new_text("<b>ok</b>", "<b>ok</b>", caption=False)
    check_new_text("x" * 4096, "x" * 4096, caption=False)
    long = "x" * 4097
    assert key_of(lambda: check_new_text(long, long, caption=False)) == "followup-edit-too-long"
    check_new_text("x" * 1024, "x" * 1024, caption=True)
    caption = "x" * 1025
    assert key_of(lambda: check_new_text(caption, caption, caption=True)) == (
        "followup-edit-too-long"
    )
    assert key_of(lambda: check_new_text("<b>x", "<b>x", caption=False)) == (
        "content-html-unbalanced"
    )
    assert key_of(lambda: check_new_text("<b> </b>", "<b> </b>", caption=False)) == (
        "followup-edit-empty"
    )


def test_an_edit_is_never_a_paid_broadcast_and_may_drop_the_buttons() -> None:
    kept = edited_content(run(), "New", keep_buttons=True)
    assert kept.body == "New" and kept.options["buttons"] and not kept.paid
    assert kept.kind is RunKind.edit
    bare = edited_content(run(), "New", keep_buttons=False)
    assert "buttons" not in bare.options


def test_auto_delete_within_telegrams_48_hours_for_telegram_runs_only() -> None:
    content = RunContent.from_json({**CONTENT, "options": {AUTODELETE: 47}})
    assert autodelete_at(content, T0, test=False) == T0 + timedelta(hours=47)
    assert autodelete_at(content, T0, test=True) is None  # a test send stays
    for wrong in (0, 48, "5", True, None):
        assert autodelete_hours({AUTODELETE: wrong}) is None
    email = RunContent.from_json({**CONTENT, "channel": "email", "options": {AUTODELETE: 5}})
    assert autodelete_at(email, T0, test=False) is None
    cycle, options = [], {}
    for _ in range(7):
        options = {AUTODELETE: next_autodelete(options)}
        cycle.append(options[AUTODELETE])
    assert cycle == [1, 3, 6, 12, 24, 47, None]


def test_answer_buttons_are_checked_like_callback_data() -> None:
    assert clean_answers("👍 | 👎") == ["👍", "👎"]
    assert clean_answers("  Sign  me up |Not now ") == ["Sign me up", "Not now"]
    assert clean_answers("-") == [] and clean_answers("") == []
    assert clean_answers("|".join("abcdefgh")) == list("abcdefgh")
    assert key_of(lambda: clean_answers("|".join("abcdefghi"))) == "answers-too-many"
    assert key_of(lambda: clean_answers("a | | b")) == "answers-empty-label"
    assert key_of(lambda: clean_answers("x" * 65)) == "answers-label-too-long"
    assert clean_answers("x" * 64) == ["x" * 64]
    assert key_of(lambda: clean_answers("a | a")) == "answers-twice"
    assert len(callback_data(2**62, 7).encode()) <= 64


def test_a_sticker_or_a_round_video_has_no_text_to_fix_and_media_take_a_caption() -> None:
    for kind in ("sticker", "video_note"):
        textless = run(content={**CONTENT, "media": {"type": kind, "file_id": "f"}})
        assert key_of(lambda r=textless: check_text_editable(r)) == "followup-edit-no-text"
    for media in (
        {"type": "voice", "file_id": "f"},
        {"type": "album", "items": [{"type": "photo", "file_id": "a"}] * 2},
        {"type": "copy", "from_chat_id": 1, "message_ids": [2], "kind": "photo"},
    ):
        with_media = run(content={**CONTENT, "media": media})
        check_text_editable(with_media)
        assert is_caption(with_media)
    text_copy = {"type": "copy", "from_chat_id": 1, "message_ids": [2], "kind": "text"}
    assert not is_caption(run(content={**CONTENT, "media": text_copy}))
    check_text_editable(run())
    assert not is_caption(run())
