"""A schedule in words on the card and in the dialog (``handlers.mailings_text``): the
recurrence with its end in the reader's language and plural forms, not a cron line; the
card says when a scheduled mailing fires, and that a draft's schedule is not running."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from handlers.i18n import make_i18n
from handlers.mailings_text import card_text, recurrence_text, schedule_text

I18N = make_i18n()
MOSCOW = ZoneInfo("Europe/Moscow")


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    with I18N.context(), I18N.use_locale(locale):
        yield


def daily(**fields: object) -> Schedule:
    return Schedule(ScheduleKind.cron, cron="30 9 * * *", timezone="Europe/Moscow", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("runs", "en", "ru"),
    [
        (1, "every day at 09:30, 1 time", "каждый день в 09:30, 1 раз"),
        (3, "every day at 09:30, 3 times", "каждый день в 09:30, 3 раза"),
        (5, "every day at 09:30, 5 times", "каждый день в 09:30, 5 раз"),
        (22, "every day at 09:30, 22 times", "каждый день в 09:30, 22 раза"),
    ],
)
def test_a_recurrence_reads_as_words_with_its_count_of_runs(runs: int, en: str, ru: str) -> None:
    with speaking("en"):
        assert recurrence_text(daily(max_runs=runs), MOSCOW) == en
    with speaking("ru"):
        assert recurrence_text(daily(max_runs=runs), MOSCOW) == ru


def test_an_end_date_a_foreign_zone_and_an_unworded_cron() -> None:
    until = daily(ends_at=datetime(2026, 12, 31, 20, 59, tzinfo=UTC))
    weekly = Schedule(ScheduleKind.cron, cron="0 10 * * 1", timezone="Europe/Berlin")
    odd = Schedule(ScheduleKind.cron, cron="0 */6 * * *", timezone="Europe/Moscow")
    with speaking("en"):
        assert recurrence_text(until, MOSCOW) == "every day at 09:30, until 31.12.2026 23:59"
        assert recurrence_text(weekly, MOSCOW) == "every Monday at 10:00 (Europe/Berlin)"
        assert recurrence_text(odd, MOSCOW) == "recurring: <code>0 */6 * * *</code>"
    with speaking("ru"):
        assert recurrence_text(until, MOSCOW) == "каждый день в 09:30, до 31.12.2026 23:59"


def test_the_card_says_when_a_scheduled_mailing_fires_and_not_its_cron() -> None:
    mailing = Mailing(
        1, "Digest", Channel.telegram, schedule=daily(max_runs=3), status=MailingStatus.scheduled
    )
    first = datetime(2026, 12, 8, 6, 30, tzinfo=UTC)
    with speaking("en"):
        text = card_text(mailing, ["Readers"], None, MOSCOW, first)
    assert "Schedule: every day at 09:30, 3 times" in text
    assert "🕐 Scheduled for 08.12.2026 09:30" in text and "30 9 * * *" not in text
    with speaking("ru"):
        text = card_text(mailing, ["Readers"], None, MOSCOW, first)
    assert "каждый день в 09:30, 3 раза" in text and "Запланирована на 08.12.2026 09:30" in text


def test_a_drafts_schedule_is_shown_as_not_running() -> None:
    once = Schedule(ScheduleKind.once, run_at=datetime(2026, 12, 8, 7, tzinfo=UTC))
    draft = Mailing(1, "Later", Channel.telegram, schedule=once)
    with speaking("en"):
        assert schedule_text(draft, MOSCOW) == "once, 08.12.2026 10:00"
        text = card_text(draft, [], None, MOSCOW)
    assert "Not scheduled yet" in text and "Scheduled for" not in text
