"""What handlers need from the rest of the app, built once at start-up (``bot/app.py``).

aiogram passes workflow data to a handler by parameter name, so a handler declares
``services: Services`` and mypy checks every use. Per-update values come by their own
names: ``user`` (``UserMiddleware``), ``state``, ``callback_data``, ``bot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain.clock import Clock
from domain.mailings import Channel
from domain.ports.ab_tests import ABTestStore
from domain.ports.answers import AnswerBook, AnswerChart
from domain.ports.channels import AccountChecker, PaidBroadcasts
from domain.ports.engagement import EngagementChart
from domain.ports.follow_ups import FollowUpQueue
from domain.ports.imports import ExternalListSource, RecipientImporter, RemoteFileFetcher
from domain.ports.queue import RunSnapshots
from domain.ports.recipients import AddressParser
from domain.ports.rendering import MessageRenderer
from domain.ports.schedules import ScheduleCalculator
from domain.ports.segments import FieldIndexes, SegmentResults
from domain.ports.stats import ChartDrawer, EngagementReader, ReportWriterFactory, StatsReader
from domain.ports.uow import UnitOfWorkFactory
from domain.ports.users import AccessNotifier
from domain.ports.webhooks import WebhookPoster
from handlers.run_progress import RunWatcher


@dataclass(frozen=True, slots=True)
class Services:
    uow_factory: UnitOfWorkFactory
    # The read side of statistics, outside the unit of work: figures and exports, and
    # a run's opens, clicks and bounces.
    stats: StatsReader
    engagement: EngagementReader
    clock: Clock
    tz: ZoneInfo  # times are typed and shown in it (``TIMEZONE``)
    available_channels: frozenset[Channel]  # channels whose settings are present
    access_notifier: AccessNotifier
    address_parser: AddressParser
    renderer: MessageRenderer
    schedule_calculator: ScheduleCalculator
    delivery_queue: RunSnapshots
    run_watcher: RunWatcher
    importer: RecipientImporter
    fetcher: RemoteFileFetcher
    sendsay_source: ExternalListSource
    sendsay_check: AccountChecker | None  # None: Sendsay is not configured
    chart_drawer: ChartDrawer
    report_writer: ReportWriterFactory
    link_chart: EngagementChart  # clicks per link of a run
    paid_broadcasts: PaidBroadcasts  # TELEGRAM_RATE and the bot's Stars (fast mailings)
    # An import's progress message: shown after ``delay`` s, edited every ``interval`` s.
    import_progress_delay: float = 2.0
    import_progress_interval: float = 3.0
    # An album's items arrive as separate updates: it is answered once none has come for
    # this long (``handlers.mailing_content.Albums``).
    album_quiet: float = 1.0
    tracking: bool = True  # ``TRACKING``: opens and clicks may be counted at all
    follow_ups: FollowUpQueue | None = None  # recalls and edits of delivered Telegram copies
    answers: AnswerBook | None = None  # recipients' answers to answer buttons
    answer_chart: AnswerChart | None = None  # answers per option of a run
    field_indexes: FieldIndexes | None = None  # indexes on the fields saved segments use
    ab_tests: ABTestStore | None = None  # A/B test runs: results, the winner to the rest
    hooks: WebhookPoster | None = None  # event webhooks: URL checks and test POSTs
    segment_results: SegmentResults | None = None  # a run's results per segment

    @property
    def timezone(self) -> str:
        """The name of ``tz``, as stored with a mailing's schedule."""
        return self.tz.key
