"""Ports: what the domain needs from the outside world.

Adapters in ``infrastructure`` (and the bot-facing ones in ``bot``) implement these.
Every method that writes does so inside the unit of work it belongs to; nothing is
durable until ``UnitOfWork.commit`` returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from domain.ab_test import Split
from domain.answers import OptionCount
from domain.api_tokens import ApiTokenStore
from domain.audit import AuditEntry
from domain.bulk import BulkExclusion, BulkJob, BulkMember, BulkStatus
from domain.clock import Clock as Clock  # re-exported: older imports
from domain.delivery import Message, Outbound, RetryPolicy, RunContent, SendResult
from domain.engagement import BounceStore, TrackingStore
from domain.idempotency import IdempotencyStore
from domain.imports import ImportReport, ImportSource, ProgressCallback
from domain.local_time import Release
from domain.mailings import Channel, Mailing, MailingStatus, Schedule
from domain.pagination import Page
from domain.recipients import Address, AddressKind, Audience, ListSize, RecipientList
from domain.runs import (
    DeliveryStatus,
    FollowUpStart,
    MailingRun,
    ProgressMessage,
    RunStatus,
    SkippedSlot,
)
from domain.saved_segments import SegmentStore
from domain.stats import (
    ChannelSummary,
    DaySends,
    ExportFormat,
    ExportRow,
    FailureReason,
    MinuteSends,
    RunReport,
    Sends,
)
from domain.targeting import Targeting
from domain.templates import Template
from domain.users import Role, User
from domain.webhooks import WebhookStore


class UserRepository(Protocol):
    """Everyone the bot has seen, keyed by Telegram user id."""

    async def get(self, telegram_id: int) -> User | None: ...

    async def get_by_username(self, username: str) -> User | None:
        """Case-insensitive lookup without the leading ``@``."""
        ...

    async def add(self, user: User) -> None: ...

    async def add_or_get(self, user: User) -> User:
        """Insert ``user`` unless a row with its id exists (an upsert that keeps the stored
        row: two first messages of a new user arrive together); return the stored user."""
        ...

    async def update(self, user: User) -> None: ...

    async def count_active(self, role: Role) -> int: ...

    async def lock_admins(self) -> None:
        """Hold the active admins until the unit of work ends: role changes take turns, so
        two admins revoking each other at once cannot leave nobody in charge."""
        ...

    async def list_staff(self, page: int, size: int) -> Page[User]:
        """Users that have (or had) a role, admins first, then by id."""
        ...


class AuditLog(Protocol):
    """Append-only record of important actions."""

    async def add(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int = 50) -> list[AuditEntry]: ...


class AddressRepository(Protocol):
    """Reachable endpoints, unique on (kind, value)."""

    async def get(self, address_id: int) -> Address | None: ...

    async def find(self, kind: AddressKind, value: str) -> Address | None: ...

    async def upsert(self, address: Address) -> Address:
        """Insert or return the existing row for (kind, value); fills ``id``."""
        ...

    async def update(self, address: Address) -> None: ...


class RecipientListRepository(Protocol):
    """Named lists of addresses, shared by the team."""

    async def get(self, list_id: int) -> RecipientList | None: ...

    async def add(self, rlist: RecipientList) -> RecipientList: ...

    async def update(self, rlist: RecipientList) -> None: ...

    async def delete(self, list_id: int) -> None: ...

    async def all(self) -> list[RecipientList]: ...

    async def add_members(self, list_id: int, address_ids: Sequence[int]) -> int:
        """Add addresses to a list, skipping ones already there; returns how many were new."""
        ...

    async def remove_member(self, list_id: int, address_id: int) -> bool: ...

    async def remove_gone(self, list_id: int) -> int:
        """Remove the members the latest re-import from the list's source did not find
        (``ImportSource.sync`` marks them); returns how many."""
        ...

    async def has_member(self, list_id: int, address_id: int) -> bool: ...

    async def size(self, list_id: int) -> ListSize: ...

    async def members(
        self, list_id: int, page: int, size: int, query: str | None = None
    ) -> Page[Address]:
        """0-based page of members by address id; ``query`` matches value or attributes."""
        ...

    async def add_subscribers(self, list_id: int) -> int:
        """Add every bot subscriber that is not suppressed; returns how many were new."""
        ...

    async def find_by_name(self, name: str) -> RecipientList | None:
        """Case-insensitive."""
        ...

    async def audience(
        self,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
    ) -> Audience:
        """Distinct addresses of ``kinds`` in any of the lists, split by suppression; with
        ``targeting``, only those it selects (``today``: the day its dates count from)."""
        ...

    async def missing_attributes(
        self,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        keys: Sequence[str],
        targeting: Targeting | None = None,
        today: date | None = None,
    ) -> dict[str, int]:
        """For each key, how many reachable recipients have no (or an empty) value."""
        ...

    async def fields(self, list_ids: Sequence[int]) -> list[str]:
        """The attribute keys the lists' members have (``RecipientList.fields``), sorted."""
        ...

    async def field_values(self, list_ids: Sequence[int], field: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct non-empty values of ``field`` among the lists' members."""
        ...


class TemplateRepository(Protocol):
    async def get(self, template_id: int) -> Template | None: ...

    async def add(self, template: Template) -> Template: ...

    async def update(self, template: Template) -> None: ...

    async def delete(self, template_id: int) -> None: ...

    async def all(self) -> list[Template]: ...


class MailingRepository(Protocol):
    """The Mailing aggregate, including its target list ids."""

    async def get(self, mailing_id: int) -> Mailing | None: ...

    async def add(self, mailing: Mailing) -> Mailing: ...

    async def update(self, mailing: Mailing) -> None: ...

    async def delete(self, mailing_id: int) -> None: ...

    async def search(
        self,
        *,
        owner_id: int | None,
        status: MailingStatus | None,
        page: int,
        size: int,
        include_archived: bool = False,
    ) -> Page[Mailing]:
        """Newest first; ``owner_id=None`` means every owner."""
        ...

    async def using_list(self, list_id: int, statuses: Sequence[MailingStatus]) -> list[Mailing]:
        """Mailings (not archived) that target ``list_id`` with one of ``statuses``."""
        ...

    async def name_taken(
        self, owner_id: int, name: str, exclude_id: int | None = None
    ) -> bool: ...


class RunRepository(Protocol):
    """Runs of mailings; unique on (mailing_id, scheduled_for)."""

    async def get(self, run_id: int) -> MailingRun | None: ...

    async def add(self, run: MailingRun) -> MailingRun | None:
        """Insert a run; returns ``None`` if that (mailing, slot) already has one."""
        ...

    async def update(self, run: MailingRun) -> None: ...

    async def for_mailing(self, mailing_id: int, limit: int = 20) -> list[MailingRun]: ...

    async def last_for_mailing(self, mailing_id: int) -> MailingRun | None: ...

    async def follow_ups(self, source_run_id: int) -> list[MailingRun]:
        """The follow-up runs (recalls, edits) of a send run, oldest first; ``for_mailing``
        and ``last_for_mailing`` list send runs only."""
        ...

    async def due_autodeletes(self, now: datetime) -> list[MailingRun]:
        """Finished send runs whose ``autodelete_at`` is at or before ``now``."""
        ...

    async def show_progress(self, run_id: int, message: ProgressMessage | None) -> None:
        """Remember (or forget, with None) the message the run's progress is shown in."""
        ...

    async def with_progress(self) -> list[MailingRun]:
        """Runs whose progress message still waits for its summary."""
        ...

    async def with_status(self, status: RunStatus) -> list[MailingRun]: ...

    async def complete_drained(self, now: datetime) -> list[MailingRun]:
        """Mark running runs with nothing pending or sending as completed at ``now``, in
        this unit of work; the runs so marked (by id). Concurrent callers never both
        get the same run."""
        ...


class StatsRepository(Protocol):
    """The read side of statistics. Counts, rates and run history come from the run totals
    and ``run_minutes`` only; just ``failure_reasons``, ``has_deliveries`` and
    ``export_rows`` read the per-recipient deliveries (which retention may remove)."""

    async def runs_page(self, mailing_id: int, page: int, size: int) -> Page[MailingRun]:
        """0-based page of a mailing's runs, newest slot first."""
        ...

    async def rate(self, run_id: int) -> list[MinuteSends]:
        """Final results per minute, oldest first."""
        ...

    async def failure_reasons(self, run_id: int, limit: int) -> list[FailureReason]:
        """The most frequent (status, last error) of failed and refused deliveries."""
        ...

    async def has_deliveries(self, run_id: int) -> bool: ...

    async def possibly_twice(self, run_id: int) -> int:
        """Delivered deliveries that had an attempt whose answer was lost (``answer_lost``):
        their recipients may have the message twice."""
        ...

    async def channel_sends(
        self, since: datetime, *, with_tests: bool = False
    ) -> dict[Channel, Sends]:
        """Final results per channel in minutes at or after ``since``; test sends only
        ``with_tests``."""
        ...

    async def daily_sends(
        self, since: datetime, tz: tzinfo, *, with_tests: bool = False
    ) -> list[DaySends]:
        """Final results per day in ``tz`` and channel since ``since``, oldest day first;
        test sends only ``with_tests``."""
        ...

    async def export_rows(
        self, run_id: int, after_id: int, limit: int, status: DeliveryStatus | None = None
    ) -> list[ExportRow]:
        """Up to ``limit`` deliveries of the run with ids above ``after_id``, by id: a
        report is read in chunks, never all at once (``status``: only those in it). Ids
        never change, so paging by them is stable while the run sends."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Rolls back on exit unless committed."""

    users: UserRepository
    audit: AuditLog
    addresses: AddressRepository
    lists: RecipientListRepository
    templates: TemplateRepository
    mailings: MailingRepository
    runs: RunRepository
    stats: StatsRepository
    bounces: BounceStore
    tracking: TrackingStore
    api_tokens: ApiTokenStore
    segments: SegmentStore
    idempotency: IdempotencyStore
    webhooks: WebhookStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class PaidBroadcasts(Protocol):
    """Telegram's paid broadcasts as this bot may use them (``domain.paid``)."""

    @property
    def rate(self) -> float:
        """Messages/s of a fast mailing (TELEGRAM_RATE); paid only above the free 30/s."""
        ...

    async def balance(self) -> Decimal | None:
        """The bot's Telegram Star balance (getMyStarBalance); None if Telegram could not
        be asked just now."""
        ...


class AccessNotifier(Protocol):
    """Tells a person, through the bot and in their language, that their access changed,
    and refreshes their command menu to match the new role (``None``: no access).

    Failures to deliver (the person never started the bot, or blocked it) are logged
    by the adapter, never raised: the role change itself is already committed.
    """

    async def access_changed(self, user: User) -> None: ...


class RecipientImporter(Protocol):
    """Parses, validates and stores a file of recipients into a list.

    All or nothing: either every valid row is stored and the report returned, or a
    ``DomainError`` (e.g. ``import-empty-file``, ``import-no-address-column``,
    ``import-not-a-table``, ``import-mixed-encodings``, ``import-all-invalid``) is raised
    and the list is exactly as it was. Rows never go to the database one statement each.
    """

    async def import_file(
        self, list_id: int, source: ImportSource, progress: ProgressCallback | None = None
    ) -> ImportReport: ...

    async def sheet_names(self, source: ImportSource) -> list[str]:
        """The sheets of an XLSX file, so the manager can pick one; ``[]`` for other files.
        Refuses a workbook past the package limits (e.g. ``import-xlsx-packed``)."""
        ...


class RemoteFileFetcher(Protocol):
    """Downloads a CSV/XLSX link (a Google Sheets export link included) into ``dest_dir``.

    Streams with a size cap and a timeout; refuses private and loopback hosts unless
    configured otherwise, and pages that are HTML instead of a table. Raises
    ``DomainError`` keys ``fetch-*`` with a reason the manager can act on.
    """

    async def fetch(self, url: str, dest_dir: Path) -> ImportSource: ...


class ExternalListSource(Protocol):
    """A third-party service's lists (Sendsay), exported into a local CSV to import."""

    @property
    def available(self) -> bool:
        """False when the service is not configured (no credentials)."""
        ...

    async def lists(self) -> list[tuple[str, str]]:
        """(id, name) of the lists and groups one can import from."""
        ...

    async def export(self, list_ref: str, dest_dir: Path) -> ImportSource: ...


class AddressParser(Protocol):
    """Recognises one typed address: an email (validated, normalised) or a Telegram id.

    Raises ``InvalidInput`` with a reason key (``import-invalid-email``,
    ``import-invalid-telegram-id``, ``import-no-address``) for anything else.
    """

    def parse(self, text: str) -> tuple[AddressKind, str]: ...


class MessageRenderer(Protocol):
    """Fills a message template (Telegram HTML with ``{{ placeholders }}``) for one recipient.

    Runs in a sandbox: a template can read the recipient's attributes and nothing else.
    Values are HTML-escaped, so a recipient's name can never break the message's markup.
    A missing attribute renders as an empty string.

    A render has hard limits (loop steps, characters produced, time): over one, it raises
    ``InvalidInput("content-template-steps" | "-chars" | "-time", limit=..., detail=...)``.
    It may be CPU work of up to a few seconds: the bot calls it off its event loop.
    """

    def check(self, template: str) -> None:
        """Raise ``InvalidInput("content-template-error", detail=...)`` on a syntax error."""
        ...

    def placeholders(self, template: str) -> set[str]:
        """The attribute names the template reads (``{{ name }}``, ``{% if city %}``)."""
        ...

    def render(self, template: str, attributes: Mapping[str, object]) -> str: ...

    def render_text(self, template: str, attributes: Mapping[str, object]) -> str:
        """Plain text (an email subject): the same sandbox, values not HTML-escaped."""
        ...


class ScheduleCalculator(Protocol):
    """When a schedule fires; times are timezone-aware, in UTC.

    ``validate`` raises ``InvalidInput`` with a key (``schedule-cron-invalid``,
    ``schedule-too-frequent``, ``schedule-in-past``) and an example in its params.
    """

    def validate(self, schedule: Schedule, now: datetime) -> None: ...

    def next_times(self, schedule: Schedule, after: datetime, count: int) -> list[datetime]:
        """Up to ``count`` fire times strictly after ``after``, honouring ends and max runs
        (counting runs is the caller's business: pass the remaining count)."""
        ...


class DeliveryQueue(Protocol):
    """The ``deliveries`` table as a work queue, shared by any number of workers.

    Every method is one short transaction of its own. Run totals (``mailing_runs``
    pending/sending/delivered/failed/refused) change in the same transaction as the rows
    they count, so progress and statistics never count delivery rows.
    """

    async def snapshot(
        self,
        run_id: int,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
        release: Release | None = None,
        split: Split | None = None,
    ) -> int:
        """Insert one pending delivery per distinct, not suppressed address of ``kinds`` in
        the lists (and selected by ``targeting``), in one ``INSERT … SELECT``; sets the
        run's pending total; returns it. With ``release``, each row is due
        (``next_attempt_at``) at its recipient's release instant. With ``split`` (an A/B
        test), the sample's rows get their ``variant`` and the rest are held
        (``domain.ab_test.HELD``) until ``ABTestStore.release``."""
        ...

    async def snapshot_one(self, run_id: int, address_id: int) -> int:
        """A test send: one delivery to one address (suppression ignored: it is staff)."""
        ...

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        """Up to ``limit`` pending deliveries of running runs that are due, moved to
        ``sending`` with ``claimed_at=now`` and ``claimed_by=worker`` (the claiming
        process's row in the worker registry), each under a new claim token
        (``Outbound.claim``); on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so concurrent
        workers never get the same row."""
        ...

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
    ) -> datetime | None:
        """Write a batch's results in bulk: delivered/failed/refused are final (refused also
        suppresses the address); retry goes back to pending with backoff, or to failed
        with the last error once the policy is exhausted. Final results are also added to
        the run's minute in ``run_minutes`` (one more statement), in the same transaction.
        Only rows still in ``sending`` change, and with ``claims`` (delivery id: claim
        token) only those still under that claim: a late result never lands on a row
        claimed again since. Returns when the earliest retry written falls due (None:
        no retry)."""
        ...

    async def requeue_expired(
        self,
        lease: timedelta,
        now: datetime,
        policy: RetryPolicy,
        dead_before: datetime | None = None,
    ) -> int:
        """Deliveries in ``sending`` whose worker is dead (its last beat before
        ``dead_before``, or its registry row gone) or that were claimed longer than
        ``lease`` ago go back to pending, or to failed once ``policy`` is exhausted;
        returns how many moved."""
        ...


class ScheduleNotifier(Protocol):
    """Tells a mailing's owner, in their chat and language, that a scheduled launch did
    not happen and why, or that it started (and then how it ends). Never raises: a failed
    message is logged."""

    async def slot_skipped(self, skipped: SkippedSlot, owner: User | None) -> None: ...

    async def slot_launched(self, mailing: Mailing, run_id: int, owner: User | None) -> None:
        """A scheduled run started: the owner is told now, and gets its summary at the
        end."""
        ...


class WorkSignal(Protocol):
    """Tells idle workers that work may have arrived (a run started or resumed, deliveries
    requeued), so that they need not poll the queue often."""

    @property
    def poll_every(self) -> float:
        """The longest an idle worker may wait without a signal, in seconds: a slow safety
        net while signals arrive, a short poll while they cannot (connection lost)."""
        ...

    def listen(self) -> asyncio.Event:
        """An event set at every signal from now on; its worker clears it before it looks
        for work, so a signal that arrives meanwhile is never lost."""
        ...


class WorkerRegistry(Protocol):
    """The worker processes alive now (the ``workers`` table): a row per process that
    claims deliveries, stamped at every heartbeat (``domain.workers``)."""

    async def register(self, name: str, now: datetime) -> int:
        """A new row for this process (``name``: host and pid, for people); its id."""
        ...

    async def beat(self, worker_id: int, now: datetime) -> bool:
        """Stamp the row; False if it is gone (the process was declared dead meanwhile)."""
        ...

    async def forget_dead(self, dead_before: datetime) -> int:
        """Remove the rows whose last beat is older than ``dead_before``."""
        ...

    async def retire(self, worker_id: int) -> None:
        """A clean stop: the process finished and recorded every batch it claimed."""
        ...


class DeliveryRetention(Protocol):
    """Deletes old per-recipient rows (deliveries, with the opens and clicks counted per
    delivery) and bounce messages read before ``finished_before``; nothing else.

    Only rows of runs that are over (completed, cancelled, failed, skipped) and finished
    before ``finished_before`` go. Run totals, runs and the audit log are never touched,
    nor any row of a running or paused run. Works in short transactions of at most
    ``batch_size`` rows each, so workers keep claiming and recording while it runs.
    """

    async def purge(self, finished_before: datetime, batch_size: int = 10_000) -> dict[int, int]:
        """Delete the rows; how many deliveries went per run id (runs with none left out)."""
        ...


class DeliveryChannel(Protocol):
    """Sends a batch through one channel (SMTP, Telegram, Sendsay, webhook).

    Sends the messages concurrently over reused connections and returns exactly one
    result per message, never raising for a single recipient's failure. Honours the
    channel's rate limits itself. Must never blindly retry a request that may have
    reached the recipient (a read timeout after sending is ``failed``, "uncertain").
    """

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]: ...

    async def close(self) -> None: ...


class ReportWriter(Protocol):
    """A per-recipient report file being written chunk by chunk (CSV or XLSX).

    Cells that a spreadsheet would read as a formula are escaped. Blocking work runs in a
    thread, so the bot keeps answering while a big report is written.
    """

    async def write(self, rows: Sequence[ExportRow]) -> None: ...

    async def close(self) -> None:
        """Finish the file; it is complete only after this returns."""
        ...


ReportWriterFactory = Callable[[Path, ExportFormat], ReportWriter]


class ChartDrawer(Protocol):
    """Draws statistics as PNG images, in a thread (never blocking the event loop).

    ``labels`` carries the texts shown on the chart, already in the reader's language
    (keys: delivered, failed, refused, pending, not_sent, statuses, rate, per_minute, day, week,
    month, per_channel, per_day, no_sends, and the channel values); times are shown in ``tz``,
    dates and times written the way ``locale`` (a Babel locale name) writes them.
    """

    async def run_chart(
        self, report: RunReport, labels: Mapping[str, str], tz: tzinfo, locale: str
    ) -> bytes: ...

    async def channel_chart(
        self, summary: ChannelSummary, labels: Mapping[str, str], tz: tzinfo, locale: str
    ) -> bytes: ...


class AnswerChart(Protocol):
    """Draws recipients per answer option of a run as a PNG."""

    async def answer_chart(
        self, counts: Sequence[OptionCount], title: str, empty: str
    ) -> bytes: ...


class AnswerBook(Protocol):
    """Recipients' answers to answer buttons (``domain.answers``)."""

    async def record(
        self, run_id: int, chat_id: int, message_id: int, option: int, now: datetime
    ) -> int | None:
        """Record ``option`` for the recipient in ``chat_id`` if ``message_id`` is their
        delivered copy of run ``run_id``; the option they had answered before (-1: none),
        or ``None`` (nothing recorded) when it is not."""
        ...

    async def tally(self, run_id: int) -> dict[int, int]:
        """Recipients per answered option of a run."""
        ...


class FollowUpQueue(Protocol):
    """Follow-up runs (recall, edit) of a send run's delivered Telegram copies, in the
    same ``deliveries`` work queue: workers claim, send and record them like any run.
    Each method is one short transaction of its own."""

    async def start(
        self, run: MailingRun, kept_before: datetime | None, *, auto: bool = False
    ) -> FollowUpStart | None:
        """With ``auto`` (an auto-delete), only if the send run's ``autodelete_at`` is
        still set, and it is cleared in the same transaction: the first caller starts
        it, any other gets ``None``. In one transaction: insert ``run`` (a follow-up of
        ``run.source_run_id``), one pending delivery per copy of that run still in its
        chat (delivered, its message id kept, not recalled by an earlier recall), each
        carrying the message id, and start it. Copies delivered before ``kept_before`` go
        in as failed, "kept" (their window has closed). ``None``, and nothing written
        (but a claimed auto-delete), when no copy is left."""
        ...

    async def targets(self, delivery_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        """The message ids each follow-up delivery acts on, in order (several for an
        album: ``domain.media.message_ids``); deliveries without one are left out."""
        ...


class BulkQueue(DeliveryQueue, Protocol):
    """The ``deliveries`` of runs marked for a mass send (see ``domain.bulk``).

    ``DeliveryQueue.snapshot`` marks a run (phase ``queued``) when its channel has a bulk
    threshold and the run reaches it; ``claim`` and ``requeue_expired`` leave such runs
    alone. Every method is one short transaction of its own.
    """

    async def take_bulk(self, now: datetime, lease: timedelta) -> BulkJob | None:
        """A marked run that is due (never taken, its holder's lease ended, or its next poll
        is due) and running, cancelled (``BulkJob.cancelled``) or paused after its send, now
        held until ``now + lease``; on PostgreSQL with ``SKIP LOCKED`` so two workers never
        hold the same run."""
        ...

    async def save_bulk(self, job: BulkJob, due_at: datetime | None) -> None:
        """Store the job's state; ``due_at`` is when it may be taken next (None: never)."""
        ...

    async def release_bulk(self, run_id: int) -> None:
        """Unmark the run: its rows go out one by one through the normal workers."""
        ...

    async def claim_bulk(self, run_id: int, now: datetime) -> int:
        """Move every pending row of the run to ``sending`` (one attempt); how many moved."""
        ...

    async def unclaim_bulk(self, run_id: int) -> int:
        """Move the run's rows in ``sending`` back to pending (a cancel before the send)."""
        ...

    async def bulk_recipients(self, run_id: int, after_id: int, limit: int) -> list[Outbound]:
        """Up to ``limit`` rows of the run in ``sending`` with an id above ``after_id``."""
        ...

    async def bulk_ids(self, run_id: int, values: Sequence[str]) -> dict[str, int]:
        """Delivery ids of the run's rows in ``sending``, by address value (lower case)."""
        ...

    async def bulk_open(self, run_id: int) -> int:
        """How many of the run's rows are still pending or sending."""
        ...

    async def fail_bulk(self, run_id: int, error: str, now: datetime) -> int:
        """Every row of the run still pending or sending becomes failed with ``error``."""
        ...


class MassSendChannel(Protocol):
    """A channel that can send one issue to many recipients and report on each (Sendsay).

    Every method raises ``BulkSendError`` for a failed step and nothing else: ``retry``
    for transient failures, permanent otherwise. ``ref`` is what ``mass_send`` returned
    (JSON-serialisable; kept on the run across restarts); the channel may add to it what it
    learns later (the provider's id of the send), and the engine saves it with the job.
    """

    def can_mass_send(self, content: RunContent) -> bool:
        """Whether the content can go as one issue (each of its placeholders has a provider
        equivalent); otherwise the run goes out one message per recipient."""
        ...

    async def open_audience(self, run_id: int, content: RunContent) -> None:
        """Make the run's audience at the provider empty and ready for ``content`` (the
        fields its letter reads); called before the first page of every push."""
        ...

    async def push_members(
        self, run_id: int, content: RunContent, members: Sequence[BulkMember]
    ) -> None:
        """Add a page of recipients (with their values) to the run's audience at the provider;
        pushing the same page again is harmless."""
        ...

    async def mass_send(self, run_id: int, content: RunContent) -> dict[str, Any]:
        """Send the content to the run's audience once; the provider's ids of that send.
        A request that may have reached the provider and got no answer is permanent
        ("uncertain"), never ``retry``."""
        ...

    async def settled(self, ref: dict[str, Any]) -> bool:
        """Whether the provider has finished handing the send out (reports can be read)."""
        ...

    async def report(self, ref: dict[str, Any], offset: int, limit: int) -> list[BulkStatus]:
        """A page of the send's per-recipient report; a short page is the last one."""
        ...

    async def exclusions(self, ref: dict[str, Any]) -> list[BulkExclusion]:
        """Recipients the finished send left out (no report rows), counted by reason."""
        ...

    async def forget(self, run_id: int) -> None:
        """Remove the run's audience at the provider (best effort, after the send)."""
        ...
