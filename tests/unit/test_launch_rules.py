"""The launch's checks (one rule for the Launch button, test sends and scheduled slots),
which skipped slots their owners are told of, and which runs a crash cut in two."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Audience
from domain.runs import MailingRun, RunStatus
from domain.usecases.preview import Notice, Preview, stopper
from domain.usecases.recovery import interrupted
from domain.usecases.schedules import BUSY, GONE, MISSED, TAKEN, Fired

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def preview(*keys: str) -> Preview:
    mailing = Mailing(owner_id=1, name="M", channel=Channel.telegram)
    audience = Audience(reachable=0, suppressed=0, other_kinds=0, first=None)
    return Preview(mailing, audience, "", None, [Notice(key) for key in keys])


def test_the_first_blocking_warning_stops_a_launch() -> None:
    found = stopper(preview("preview-suppressed", "preview-empty-audience", "preview-too-long"))
    assert found is not None and found.key == "preview-empty-audience"
    assert stopper(preview("preview-suppressed", "preview-missing-placeholder")) is None


def test_a_test_send_is_stopped_by_everything_but_the_audience() -> None:
    to_sender = preview(
        "preview-no-lists", "preview-empty-audience", "preview-channel-unavailable"
    )
    found = stopper(to_sender, to_lists=False)
    assert found is not None and found.key == "preview-channel-unavailable"
    assert stopper(preview("preview-no-lists", "preview-empty-audience"), to_lists=False) is None
    found = stopper(preview("content-html-unbalanced"), to_lists=False)
    assert found is not None and found.key == "content-html-unbalanced"


def test_the_owner_hears_of_slots_skipped_here_not_of_those_another_instance_took() -> None:
    told = [Fired(1, T0, None, note) for note in (MISSED, BUSY, "preview-too-long")]
    assert all(fired.skipped for fired in told)
    silent = [Fired(1, T0, 7), Fired(1, T0, None, TAKEN), Fired(1, T0, None, GONE)]
    assert not any(fired.skipped for fired in silent)


def run(status: RunStatus, *, test: bool = False) -> MailingRun:
    return MailingRun(mailing_id=1, scheduled_for=T0, status=status, is_test=test)


def mailing(status: MailingStatus) -> Mailing:
    return Mailing(owner_id=1, name="M", channel=Channel.telegram, status=status)


def test_a_paused_run_whose_mailing_still_runs_was_cut_by_a_crash() -> None:
    assert interrupted(run(RunStatus.paused), mailing(MailingStatus.running))
    # Its owner paused it: the mailing was paused with it.
    assert not interrupted(run(RunStatus.paused), mailing(MailingStatus.paused))
    assert not interrupted(run(RunStatus.running), mailing(MailingStatus.running))
    assert not interrupted(run(RunStatus.paused), None)  # the mailing is gone


def test_a_paused_test_was_cut_by_a_crash_whatever_its_mailing() -> None:
    assert interrupted(run(RunStatus.paused, test=True), mailing(MailingStatus.draft))
    assert not interrupted(run(RunStatus.failed, test=True), mailing(MailingStatus.draft))
