"""Tables. Rows are mapped to domain dataclasses by the repositories, explicitly.

Closed sets of values (roles, kinds, statuses) are plain strings guarded by CHECK
constraints rather than native enums: a new value is a one-line migration on both
backends. ``tests/integration/db`` checks that every domain enum value is allowed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.bounces import BounceKind
from domain.mailings import Channel, MailingStatus, ScheduleKind
from domain.recipients import AddressKind, ListSourceKind
from domain.runs import DeliveryStatus, RunKind, RunStatus
from domain.users import Role
from domain.webhooks import OutboxStatus
from infrastructure.db.base import (
    Base,
    BigIntPK,
    JsonDocument,
    UTCDateTime,
    counter_column,
    created_column,
    json_column,
    one_of,
    updated_column,
    utcnow,
)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", Role),)

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(256), default="", server_default="")
    language: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


# Usernames are looked up case-insensitively (Telegram treats them so).
Index("ix_users_username_lower", func.lower(UserRow.username))


class AddressRow(Base):
    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("kind", "value"), one_of("kind", AddressKind))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(512))
    attributes: Mapped[dict[str, Any]] = json_column()
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a Telegram user presses /start in the bot: "subscribed to the bot".
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_column()
    # Soft bounces in a row (domain.bounces.next_soft_streak) and the latest run counted;
    # SOFT_BOUNCE_LIMIT of them suppress the address (migration 0011).
    soft_bounces: Mapped[int] = counter_column()
    soft_bounce_run_id: Mapped[int | None] = mapped_column(BigInteger)


class RecipientListRow(Base):
    __tablename__ = "recipient_lists"
    __table_args__ = (one_of("source_kind", ListSourceKind),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    source_kind: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    source_ref: Mapped[str | None] = mapped_column(Text)
    # The attribute keys its members have (imports add theirs; migration 0015).
    fields: Mapped[list[str]] = mapped_column(
        JsonDocument, default=list, server_default=text("'[]'")
    )
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


# Names are unique ignoring case (migration 0010); the use cases say so first, the index
# decides a race (repositories/_sql.py maps its violation to the same domain error).
Index("uq_recipient_lists_name", func.lower(RecipientListRow.name), unique=True)


class ListMemberRow(Base):
    __tablename__ = "list_members"

    # No foreign keys (migration 0024: per-row checks were most of a big import's time);
    # triggers refuse a member of a missing list or address and delete the members of a
    # deleted list or address.
    list_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    address_id: Mapped[int] = mapped_column(
        BigIntPK, primary_key=True, autoincrement=False, index=True
    )
    added_at: Mapped[datetime] = created_column()
    # Not found by the latest re-import from the list's source (migration 0021).
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ListCountRow(Base):
    """Members of a list per address kind, kept exact by triggers on ``list_members``
    (migration 0023): the dialog's reachable count reads it instead of a join."""

    __tablename__ = "list_counts"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("recipient_lists.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    members: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


# Unsubscribed or refused addresses are few: a list's suppressed members are found through
# them (migration 0023).
_SUPPRESSED = text("unsubscribed_at IS NOT NULL OR refused_at IS NOT NULL")
Index(
    "ix_addresses_suppressed",
    AddressRow.id,
    postgresql_where=_SUPPRESSED,
    sqlite_where=_SUPPRESSED,
)


class TemplateRow(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


Index("uq_templates_name", func.lower(TemplateRow.name), unique=True)


class MailingRow(Base):
    __tablename__ = "mailings"
    __table_args__ = (
        one_of("channel", Channel),
        one_of("schedule_kind", ScheduleKind),
        one_of("status", MailingStatus),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL")
    )
    media: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    options: Mapped[dict[str, Any]] = json_column()
    # Who of its lists it goes to (domain.targeting; {} is everyone; migration 0015).
    targeting: Mapped[dict[str, Any]] = json_column()
    fast: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    schedule_kind: Mapped[str] = mapped_column(String(8), default="none", server_default="none")
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cron: Mapped[str | None] = mapped_column(String(128))
    timezone: Mapped[str] = mapped_column(String(64))
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_runs: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(
        String(16), default="draft", server_default="draft", index=True
    )
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


# Each manager's mailings have distinct names; archived ones free theirs.
Index(
    "uq_mailings_owner_id_name",
    MailingRow.owner_id,
    MailingRow.name,
    unique=True,
    postgresql_where=MailingRow.archived_at.is_(None),
    sqlite_where=MailingRow.archived_at.is_(None),
)


class SegmentRow(Base):
    """A saved, reusable segment (``domain.segments.Segment`` as JSON)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = json_column()
    created_at: Mapped[datetime] = created_column()


Index("uq_segments_owner_id_name", SegmentRow.owner_id, func.lower(SegmentRow.name), unique=True)


class MailingListRow(Base):
    __tablename__ = "mailing_lists"

    mailing_id: Mapped[int] = mapped_column(
        ForeignKey("mailings.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("recipient_lists.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class MailingRunRow(Base):
    __tablename__ = "mailing_runs"
    __table_args__ = (
        UniqueConstraint("mailing_id", "scheduled_for"),
        one_of("status", RunStatus),
        one_of("kind", RunKind),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailings.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    content: Mapped[dict[str, Any]] = json_column()
    pending: Mapped[int] = counter_column()
    sending: Mapped[int] = counter_column()
    delivered: Mapped[int] = counter_column()
    failed: Mapped[int] = counter_column()
    refused: Mapped[int] = counter_column()
    launched_by: Mapped[int | None] = mapped_column(BigInteger)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A Sendsay mass send (migration 0004): its phase and ids, NULL for a run sent one
    # recipient at a time; ``bulk_due_at`` is the holder's lease and the next poll. The
    # columns keep the name they were made with ("bulk" is "mass send" everywhere else):
    # renaming them needs a migration.
    bulk_state: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    bulk_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The live progress message in the launching chat, until its summary is shown (0009).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_locale: Mapped[str | None] = mapped_column(String(16))
    # A follow-up (recall, edit) of the send run ``source_run_id`` (migration 0013).
    kind: Mapped[str] = mapped_column(String(16), default="send", server_default="send")
    source_run_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Why the engine paused it: its channel cannot send at all (migration 0016).
    problem: Mapped[str | None] = mapped_column(Text)
    # When the copies delete themselves (auto-delete, migration 0017); NULL once started.
    autodelete_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # An A/B test (migration 0020): when its winner is picked (NULL once picked), and the
    # verdict (domain.ab_test.Decision).
    ab_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ab_result: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)


class DeliveryRow(Base):
    """One recipient of one run: the work queue of the delivery engine."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "address_id"),
        Index("ix_deliveries_run_id_status_id", "run_id", "status", "id"),
        one_of("status", DeliveryStatus),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # No foreign keys (migrations 0002, 0005): each cost a trigger per row of a snapshot.
    # Addresses are never deleted; a mailing's deletion removes its runs' deliveries itself
    # (SqlMailingRepository.delete).
    run_id: Mapped[int] = mapped_column(BigIntPK)
    address_id: Mapped[int] = mapped_column(BigIntPK)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = counter_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker process (``workers.id``, no foreign key: its row goes when it dies) that
    # claimed the row last (migration 0007).
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = updated_column()
    # The A/B test variant it got (0 = A; migration 0020); NULL: no test, or held back
    # until the winner is known.
    variant: Mapped[int | None] = mapped_column(SmallInteger)
    # An attempt's answer did not say whether it went out (a 5xx, a worker lost while
    # sending): delivered later, it is "possibly sent twice" (migration 0025).
    answer_lost: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# A run's few possible duplicates, found without reading its other rows.
Index(
    "ix_deliveries_run_id_answer_lost",
    DeliveryRow.run_id,
    postgresql_where=DeliveryRow.answer_lost,
    sqlite_where=DeliveryRow.answer_lost,
)


class WorkerRow(Base):
    """A process that claims deliveries, stamped at every heartbeat (``domain.workers``)."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))  # host:pid, for people
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunMinuteRow(Base):
    """Final results of a run per minute, added by each batch: charts and per-channel
    statistics read these, never ``deliveries`` (whose old rows retention removes)."""

    __tablename__ = "run_minutes"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_runs.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    delivered: Mapped[int] = counter_column()
    failed: Mapped[int] = counter_column()
    refused: Mapped[int] = counter_column()


class RunAnswerRow(Base):
    """A recipient's answer to a run's answer buttons (migration 0019): a second press
    changes ``option`` (``domain.answers``)."""

    __tablename__ = "run_answers"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_runs.id", ondelete="CASCADE"), primary_key=True
    )
    address_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    option: Mapped[int] = mapped_column(Integer)
    presses: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunTrackingRow(Base):
    """What happened after sending, counted per run (migration 0011): statistics read
    these totals, never the per-delivery rows below."""

    __tablename__ = "run_tracking"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_runs.id", ondelete="CASCADE"), primary_key=True
    )
    opened: Mapped[int] = counter_column()  # recipients who opened (pixel), each once
    clicked: Mapped[int] = counter_column()  # recipients who clicked, each once
    clicks: Mapped[int] = counter_column()  # every click by a person
    bot_clicks: Mapped[int] = counter_column()  # link scanners (domain.tracking.BOT_WINDOW)
    bounced: Mapped[int] = counter_column()  # delivered, then a hard bounce came back
    soft_bounced: Mapped[int] = counter_column()
    complained: Mapped[int] = counter_column()


class RunLinkRow(Base):
    """Clicks per link of a run (the index into the run's ``content.links``)."""

    __tablename__ = "run_links"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_runs.id", ondelete="CASCADE"), primary_key=True
    )
    link_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    clicks: Mapped[int] = counter_column()
    unique_clicks: Mapped[int] = counter_column()
    bot_clicks: Mapped[int] = counter_column()


class DeliveryTrackingRow(Base):
    """First open and clicks of one delivery; no foreign key, like ``deliveries``, and
    removed with them by retention."""

    __tablename__ = "delivery_tracking"

    delivery_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(BigIntPK, index=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opens: Mapped[int] = counter_column()
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicks: Mapped[int] = counter_column()


class LinkClickRow(Base):
    """A person's clicks on one link of one delivery: its first says "unique click"."""

    __tablename__ = "link_clicks"

    delivery_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    link_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(BigIntPK, index=True)
    clicks: Mapped[int] = counter_column()
    first_at: Mapped[datetime] = created_column()


class BounceRow(Base):
    """Every message read from the bounce mailbox, once (``message_key``: a digest of
    its bytes), with what it was found to be."""

    __tablename__ = "bounces"
    __table_args__ = (one_of("kind", BounceKind),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    address_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    recipient: Mapped[str | None] = mapped_column(String(512))
    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.now(), index=True
    )


class ApiTokenRow(Base):
    """A bearer token of the HTTP API (``domain.api_tokens``): only the secret's hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.telegram_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyRow(Base):
    """An ``Idempotency-Key`` of an API launch (``domain.idempotency``)."""

    __tablename__ = "api_idempotency"

    actor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_column()


class WebhookEndpointRow(Base):
    """A URL an admin registered for events (``domain.webhooks``); ``events``: the event
    names it wants, comma-separated. The secret signs each POST, so it is kept as is."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[str] = mapped_column(String(400))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_column()


class WebhookOutboxRow(Base):
    """One event for one endpoint: sent, waiting for its next attempt, or given up."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        one_of("status", OutboxStatus),
        UniqueConstraint("endpoint_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending.value)
    attempts: Mapped[int] = counter_column()
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()


Index("ix_webhook_outbox_status_next_at", WebhookOutboxRow.status, WebhookOutboxRow.next_at)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = json_column()
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.now(), index=True
    )


metadata = Base.metadata
