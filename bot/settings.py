"""Configuration from the environment and ``.env`` (pydantic-settings).

Every setting is documented in README.md and listed in ``.env.example``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import ssl
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal, assert_never
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.mailings import Channel
from domain.workers import Liveness

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/mailforge.sqlite3"
# https://core.telegram.org/bots/api#setwebhook: secret_token is 1-256 of these characters.
WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")  # what redis-py's from_url accepts
RESERVED_PATHS = frozenset({"/healthz", "/metrics"})
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class Settings(BaseSettings):
    # env_ignore_empty: `REDIS_URL=` (as .env.example has it) means "not set", for every
    # setting, in the environment and in .env alike.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    bot_token: SecretStr | None = None
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    telegram_api_url: str = "https://api.telegram.org"
    timezone: str = "Europe/Moscow"
    redis_url: SecretStr | None = None
    # Prefix of every Redis key (FSM state, shared rate limits): several bots may share a Redis.
    redis_key_prefix: str = Field(default="mailforge", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"  # json: one JSON object per line, for log collectors

    # The bot's own web server: unsubscribe links, /healthz, /metrics, Telegram's webhook.
    public_base_url: str = "http://localhost:8080"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    unsubscribe_secret: SecretStr | None = None
    # Telegram updates by webhook instead of polling (WEBHOOK_URL is the webhook *channel*).
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    # The HTTP API (bot process only; off while API_PORT is empty): requests/s per token.
    api_enabled: bool = False  # the API on the web server (WEB_PORT)
    api_host: str = "127.0.0.1"
    api_port: int | None = Field(default=None, ge=0, le=65535)  # …and on this port too
    api_rate: int = Field(default=20, gt=0)
    api_body_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Event webhooks (/hooks, /api/v1/webhooks): receivers' addresses, retries.
    hooks_allow_private_urls: bool = False
    hooks_timeout: float = Field(default=10.0, gt=0)
    hooks_max_attempts: int = Field(default=10, ge=1, le=30)
    hooks_retry_seconds: float = Field(default=15.0, gt=0)  # the first retry; then doubling

    # Importing recipients from links and from Sendsay.
    import_max_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    import_fetch_timeout: float = Field(default=60.0, gt=0)
    import_allow_private_urls: bool = False
    sendsay_account: str | None = None
    sendsay_api_key: SecretStr | None = None
    sendsay_api_url: str = "https://api.sendsay.ru/general/api/v100/json"
    sendsay_from: str | None = None  # a sender confirmed in the Sendsay account
    sendsay_relink: bool = True  # Sendsay's click tracking (relink) in the letters it sends
    # Runs of at least this many recipients go out as one Sendsay mass send; its statuses
    # are polled every SENDSAY_POLL_SECONDS and waited for SENDSAY_REPORT_WAIT_SECONDS.
    sendsay_bulk_threshold: int = Field(default=1000, ge=1)
    sendsay_poll_seconds: float = Field(default=30.0, gt=0)
    sendsay_report_wait_seconds: int = Field(default=6 * 3600, ge=1)

    # Email through your SMTP relay; the channel is available once host and sender are set.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None  # "News <news@example.com>"
    # A PEM file of CA certificates (or the relay's self-signed certificate) to trust
    # besides the system's, for a relay whose certificate a private CA signed.
    smtp_ca_file: str | None = None

    # The delivery engine.
    # Messages/s to Telegram in all chats: free broadcasts stay at 30/s; above 30, mailings
    # marked fast go at this rate as paid broadcasts (at most 1000/s, 0.1 Star a message).
    telegram_rate: float = 30.0
    # In-process workers of `mailforge run`; unset: 2 on PostgreSQL (one claims its next
    # batch while the other sends: bench/delivery.py --e2e), 1 on SQLite (one writer).
    workers: int = Field(default=None, ge=0, le=32, validate_default=True)
    # A worker claims about what its channel sends in delivery_batch_seconds, at most
    # delivery_batch_size (domain.delivery.BatchSizer).
    delivery_batch_size: int = Field(default=1000, ge=1, le=5000)
    delivery_batch_seconds: float = Field(default=1.0, ge=0.1, le=60)
    delivery_max_attempts: int = Field(default=5, ge=1, le=50)
    # A channel that cannot be reached (the SMTP relay is down) holds its sends without
    # spending attempts for up to this long, then they fail (domain.outage); managers are
    # told once it lasts channel_outage_notice_seconds, and again when it is back.
    channel_outage_budget_seconds: int = Field(default=3600, ge=0, le=7 * 24 * 3600)
    channel_outage_notice_seconds: int = Field(default=60, ge=0, le=24 * 3600)
    # Worker processes stamp their row this often; one silent for three beats is dead and
    # its batches go back to the queue at once (domain.workers).
    worker_heartbeat_seconds: float = Field(default=5.0, ge=1, le=60)
    delivery_lease_seconds: int = Field(default=300, ge=10, validate_default=True)
    # Per-recipient rows of runs finished longer ago are deleted daily (0: kept for ever);
    # run totals, charts and the audit log stay.
    delivery_retention_days: int = Field(default=180, ge=0)

    # Schedules: how often the database is checked for due slots, how late a missed slot may
    # still run after downtime, and the shortest interval a recurring schedule may have.
    scheduler_tick_seconds: float = Field(default=15.0, ge=1, le=300)
    schedule_grace_minutes: int = Field(default=60, ge=0)
    schedule_min_interval_minutes: int = Field(default=60, ge=1)

    # After sending: bounces read from an IMAP mailbox (VERP senders on BOUNCE_ADDRESS),
    # opens and clicks counted through the web server (PUBLIC_BASE_URL).
    bounce_address: str | None = None  # bounces@example.com → bounces+<token>@example.com
    bounce_imap_url: SecretStr | None = None  # imaps://user:password@imap.example.com/INBOX
    bounce_poll_seconds: float = Field(default=60.0, ge=5, le=3600)
    soft_bounce_limit: int = Field(default=3, ge=1, le=100)
    tracking: bool = True  # opens (pixel) and clicks (redirect); each mailing may switch off

    # A third-party API: every message is POSTed there as JSON.
    webhook_url: str | None = None
    webhook_headers: SecretStr | None = None  # a JSON object, e.g. {"Authorization": "…"}

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("must look like 123456789:AA... (the token @BotFather gave you)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("delivery_lease_seconds")
    @classmethod
    def _lease_outlasts_batches(cls, value: int, info: ValidationInfo) -> int:
        batch = info.data.get("delivery_batch_seconds")
        if batch is not None and value < 5 * batch:
            raise ValueError(
                f"must be at least 5 × DELIVERY_BATCH_SECONDS ({5 * batch:g}): a batch still "
                "being sent when its lease ends is handed to another worker and sent twice"
            )
        beat = info.data.get("worker_heartbeat_seconds")
        if beat is not None:
            problem = Liveness(timedelta(seconds=beat)).lease_problem(timedelta(seconds=value))
            if problem is not None:
                raise ValueError(f"{problem} (WORKER_HEARTBEAT_SECONDS={beat:g})")
        return value

    @field_validator("api_port", mode="before")
    @classmethod
    def _api_off_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: SecretStr) -> SecretStr:
        return SecretStr(normalise_database_url(value.get_secret_value()))

    @field_validator("telegram_rate")
    @classmethod
    def _telegram_rate(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError(
                "must be above 0 and at most 1000 messages/s (Telegram allows 30/s free and "
                "up to 1000/s with paid broadcasts)"
            )
        return value

    @field_validator("workers", mode="before")
    @classmethod
    def _workers_for_the_database(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and value != "":
            return value
        url = info.data.get("database_url")
        sqlite = url is None or url.get_secret_value().startswith("sqlite")
        return 1 if sqlite else 2

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[\s,;]+", value.strip()) if p]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("must be Telegram user ids separated by commas, e.g. 1234,5678")
            return [int(p) for p in parts]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if not url.lower().startswith(REDIS_SCHEMES):
            raise ValueError("must be redis://host:6379/0 (or rediss://, unix://)")
        return SecretStr(url)

    @field_validator("telegram_api_url", "public_base_url", "sendsay_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as https://example.com")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Europe/Moscow") from exc
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as https://api.example.com/send")
        return value or None

    @field_validator("telegram_webhook_url")
    @classmethod
    def _telegram_webhook_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be the public https URL Telegram posts updates to")
        path = urlsplit(value).path or "/"
        if path in RESERVED_PATHS or path.startswith(("/unsubscribe/", "/o/", "/c/")):
            raise ValueError(
                f"its path {path} is taken by the bot's own pages; use e.g. /telegram"
            )
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not WEBHOOK_SECRET_RE.match(value.get_secret_value().strip()):
            raise ValueError("must be 1-256 characters A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("webhook_headers")
    @classmethod
    def _headers_json(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            parsed = json.loads(value.get_secret_value())
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise ValueError('must be a JSON object of strings, e.g. {"X-Token": "..."}')
        return value

    @field_validator("smtp_host", "smtp_username", "smtp_from", "sendsay_account", "sendsay_from")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("smtp_ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        path = value.strip()
        try:
            ssl.create_default_context().load_verify_locations(cafile=path)
        except FileNotFoundError:
            raise ValueError(f"no such file: {path}") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ValueError(f"not a PEM file of certificates: {path} ({exc})") from None
        return path

    @field_validator("bounce_address")
    @classmethod
    def _bounce_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from domain.bounces import Verp
        from domain.signing import Signer

        Verp(Signer(b"check"), value)  # raises ValueError with the reason
        return value.strip()

    @field_validator("bounce_imap_url")
    @classmethod
    def _bounce_mailbox(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from infrastructure.bounces.imap import Mailbox

        Mailbox.from_url(value.get_secret_value())  # its message never repeats the URL
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _mailbox_needs_address(self) -> Settings:
        if self.bounce_imap_url is not None and self.bounce_address is None:
            raise ValueError(
                "BOUNCE_ADDRESS: is needed with BOUNCE_IMAP_URL (the envelope sender whose "
                "bounces the mailbox receives, e.g. bounces@example.com)"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _sendsay_sender(self) -> Settings:
        """Sendsay has no default sender: every letter names one confirmed in the account."""
        if not self.sendsay_configured:
            return self
        if "@" not in parseaddr(self.sendsay_sender)[1]:
            raise ValueError(
                "SENDSAY_FROM: Sendsay needs a sender confirmed in the account, e.g. "
                '"News <news@example.com>" (or set SMTP_FROM)'
            )
        return self

    @property
    def sendsay_configured(self) -> bool:
        return bool(self.sendsay_account) and self.sendsay_api_key is not None

    def configured(self, channel: Channel) -> bool:
        """Whether ``channel``'s settings are present: the one place that says so. The
        dialog offers, launches accept (``channels``) and the workers build
        (``bot/delivery.py``) exactly these channels."""
        match channel:
            case Channel.telegram:  # the bot's own token
                return True
            case Channel.email:
                return bool(self.smtp_host and self.smtp_from)
            case Channel.webhook:
                return bool(self.webhook_url)
            case Channel.sendsay:
                return self.sendsay_configured
            case _:
                assert_never(channel)

    @property
    def channels(self) -> frozenset[Channel]:
        """The configured channels; the others are shown as not configured."""
        return frozenset(channel for channel in Channel if self.configured(channel))

    @property
    def sendsay_sender(self) -> str:
        """The sender of Sendsay letters: ``SENDSAY_FROM``, else ``SMTP_FROM``."""
        return self.sendsay_from or self.smtp_from or ""

    def token(self) -> str:
        """The bot token; only the commands that talk to Telegram need it."""
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN: is missing (get one from @BotFather)")
        return self.bot_token.get_secret_value()

    def unsubscribe_key(self) -> bytes:
        """HMAC key of unsubscribe links: ``UNSUBSCRIBE_SECRET``, else derived from the token,
        so links stay valid across restarts without another setting to manage."""
        if self.unsubscribe_secret is not None:
            return self.unsubscribe_secret.get_secret_value().encode()
        return hashlib.sha256(b"mailforge-unsubscribe|" + self.token().encode()).digest()

    @property
    def api_on(self) -> bool:
        """The HTTP API is served: ``API_ENABLED``, or an ``API_PORT`` of its own."""
        return self.api_enabled or self.api_port is not None

    def telegram_webhook_key(self) -> str:
        """Secret token Telegram sends with every webhook call: ``TELEGRAM_WEBHOOK_SECRET``,
        else an HMAC of the bot token (stable across restarts, nothing more to manage)."""
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret.get_secret_value()
        mac = hmac.new(self.token().encode(), b"mailforge-telegram-webhook", hashlib.sha256)
        return mac.hexdigest()

    @property
    def telegram_webhook_path(self) -> str | None:
        """Where the bot's web server takes updates: the path of ``TELEGRAM_WEBHOOK_URL``."""
        if self.telegram_webhook_url is None:
            return None
        return urlsplit(self.telegram_webhook_url).path or "/"

    @property
    def liveness(self) -> Liveness:
        return Liveness(timedelta(seconds=self.worker_heartbeat_seconds))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_secret_value().startswith("sqlite")


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


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite+aiosqlite:///"):
        return None
    return Path(url.removeprefix("sqlite+aiosqlite:///"))


def load_settings(**overrides: object) -> Settings:
    """Load settings or raise ``ConfigError`` with one line per bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            reason = "is missing" if err["type"] == "missing" else err["msg"]
            reason = reason.removeprefix("Value error, ")
            lines.append(f"{name}: {reason}" if err["loc"] else reason)
        raise ConfigError("; ".join(lines)) from None
