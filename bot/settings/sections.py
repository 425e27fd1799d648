"""The settings of one concern each (the channels' are in ``channels.py``). Every field names
the environment variable users set (``env("delivery_batch_size")``: ``DELIVERY_BATCH_SIZE``),
as README.md documents it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.settings.fields import (
    RedisUrl,
    StrippedSecret,
    Text,
    Unset,
    env,
    http_url,
)
from domain.workers import Liveness

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/mailforge.sqlite3"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]


class Section(BaseModel):
    """One concern's settings, read only: ``Settings`` hands each section its variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LogSettings(Section):
    level: LogLevel = env("log_level", "INFO")
    format: LogFormat = env("log_format", "text")  # json: one object per line, for collectors

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class DatabaseSettings(Section):
    url: SecretStr = env("database_url", SecretStr(DEFAULT_DATABASE_URL))

    @field_validator("url")
    @classmethod
    def _database_driver(cls, value: SecretStr) -> SecretStr:
        return SecretStr(normalise_database_url(value.get_secret_value()))

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_secret_value().startswith("sqlite")


class RedisSettings(Section):
    """FSM state and the shared rate limits; memory (one process) while ``url`` is unset."""

    url: Annotated[RedisUrl | None, Unset] = env("redis_url")
    # Prefix of every key: several bots may share a Redis.
    key_prefix: str = env(
        "redis_key_prefix", "mailforge", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$"
    )


class WebSettings(Section):
    """The bot's own web server: unsubscribe links, /healthz, /metrics, Telegram's webhook."""

    public_base_url: Annotated[Text, http_url()] = env("public_base_url", "http://localhost:8080")
    host: str = env("web_host", "127.0.0.1")
    port: int = env("web_port", 8080, ge=0, le=65535)
    unsubscribe_secret: Annotated[SecretStr | None, Unset] = env("unsubscribe_secret")


class ApiSettings(Section):
    """The HTTP API (bot process only): requests/s per token, the largest body."""

    enabled: bool = env("api_enabled", False)  # on the web server (WEB_PORT)
    host: str = env("api_host", "127.0.0.1")
    port: Annotated[int | None, Unset] = env("api_port", None, ge=0, le=65535)  # …and here
    rate: int = env("api_rate", 20, gt=0)
    body_max_bytes: int = env("api_body_max_bytes", 10 * 1024 * 1024, gt=0)

    @property
    def on(self) -> bool:
        """The API is served: ``API_ENABLED``, or an ``API_PORT`` of its own."""
        return self.enabled or self.port is not None


class HooksSettings(Section):
    """Event webhooks (/hooks, /api/v1/webhooks): receivers' addresses, retries."""

    allow_private_urls: bool = env("hooks_allow_private_urls", False)
    timeout: float = env("hooks_timeout", 10.0, gt=0)
    max_attempts: int = env("hooks_max_attempts", 10, ge=1, le=30)
    retry_seconds: float = env("hooks_retry_seconds", 15.0, gt=0)  # the first; then doubling


class ImportSettings(Section):
    """Importing recipients from links."""

    max_bytes: int = env("import_max_bytes", 100 * 1024 * 1024, gt=0)
    fetch_timeout: float = env("import_fetch_timeout", 60.0, gt=0)
    allow_private_urls: bool = env("import_allow_private_urls", False)


class DeliverySettings(Section):
    """The delivery engine."""

    # In-process workers of `mailforge run`; unset: 2 on PostgreSQL (one claims its next
    # batch while the other sends: bench/delivery.py --e2e), 1 on SQLite (one writer).
    # Settings fills it in from DATABASE_URL.
    workers: int = env("workers", ..., ge=0, le=32)
    # A worker claims about what its channel sends in batch_seconds, at most batch_size
    # (domain.delivery.BatchSizer).
    batch_size: int = env("delivery_batch_size", 1000, ge=1, le=5000)
    batch_seconds: float = env("delivery_batch_seconds", 1.0, ge=0.1, le=60)
    max_attempts: int = env("delivery_max_attempts", 5, ge=1, le=50)
    # A channel that cannot be reached (the SMTP relay is down) holds its sends without
    # spending attempts for up to this long, then they fail (domain.outage); managers are
    # told once it lasts outage_notice_seconds, and again when it is back.
    outage_budget_seconds: int = env("channel_outage_budget_seconds", 3600, ge=0, le=7 * 86400)
    outage_notice_seconds: int = env("channel_outage_notice_seconds", 60, ge=0, le=86400)
    # The first probe of an unreachable channel comes this long after it failed, then
    # twice as long each time, at most every 60 s (or this, if longer).
    outage_probe_seconds: float = env("channel_outage_probe_seconds", 5.0, gt=0, le=3600)
    # Worker processes stamp their row this often; one silent for three beats is dead and
    # its batches go back to the queue at once (domain.workers).
    heartbeat_seconds: float = env("worker_heartbeat_seconds", 5.0, ge=1, le=60)
    lease_seconds: int = env("delivery_lease_seconds", 300, ge=10)  # after the two above

    @field_validator("lease_seconds")
    @classmethod
    def _lease_outlasts_batches(cls, value: int, info: ValidationInfo) -> int:
        batch = info.data.get("batch_seconds")
        if batch is not None and value < 5 * batch:
            raise ValueError(
                f"must be at least 5 × DELIVERY_BATCH_SECONDS ({5 * batch:g}): a batch still "
                "being sent when its lease ends is handed to another worker and sent twice"
            )
        beat = info.data.get("heartbeat_seconds")
        if beat is not None:
            problem = Liveness(timedelta(seconds=beat)).lease_problem(timedelta(seconds=value))
            if problem is not None:
                raise ValueError(f"{problem} (WORKER_HEARTBEAT_SECONDS={beat:g})")
        return value

    @property
    def liveness(self) -> Liveness:
        return Liveness(timedelta(seconds=self.heartbeat_seconds))


class RetentionSettings(Section):
    # Per-recipient rows of runs finished longer ago are deleted daily (0: kept for ever);
    # run totals, charts and the audit log stay.
    delivery_days: int = env("delivery_retention_days", 180, ge=0)


class ScheduleSettings(Section):
    """How often due slots are looked for, how late a missed slot may still run after
    downtime, and the shortest interval a recurring schedule may have."""

    tick_seconds: float = env("scheduler_tick_seconds", 15.0, ge=1, le=300)
    grace_minutes: int = env("schedule_grace_minutes", 60, ge=0)
    min_interval_minutes: int = env("schedule_min_interval_minutes", 60, ge=1)


class FeedbackSettings(Section):
    """What comes back after sending: bounces read from an IMAP mailbox (VERP senders on
    ``bounce_address``), opens and clicks counted through the web server."""

    tracking: bool = env("tracking", True)  # opens (pixel) and clicks; per mailing too
    bounce_address: Annotated[Text | None, Unset] = env("bounce_address")
    bounce_imap_url: Annotated[StrippedSecret | None, Unset] = env("bounce_imap_url")
    bounce_poll_seconds: float = env("bounce_poll_seconds", 60.0, ge=5, le=3600)
    soft_bounce_limit: int = env("soft_bounce_limit", 3, ge=1, le=100)

    @field_validator("bounce_address")
    @classmethod
    def _bounce_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from domain.bounces import Verp
        from domain.signing import Signer

        Verp(Signer(b"check"), value)  # raises ValueError with the reason
        return value

    @field_validator("bounce_imap_url")
    @classmethod
    def _bounce_mailbox(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from infrastructure.bounces.imap import Mailbox

        Mailbox.from_url(value.get_secret_value())  # its message never repeats the URL
        return value

    @model_validator(mode="after")
    def _mailbox_needs_address(self) -> FeedbackSettings:
        if self.bounce_imap_url is not None and self.bounce_address is None:
            raise ValueError(
                "BOUNCE_ADDRESS: is needed with BOUNCE_IMAP_URL (the envelope sender whose "
                "bounces the mailbox receives, e.g. bounces@example.com)"
            )
        return self


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``sqlite:///``) and pick async drivers."""
    url = url.strip()
    for prefix, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise ValueError("must be postgresql://… or sqlite:///path (async drivers are chosen for you)")
