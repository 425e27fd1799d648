"""Configuration from the environment and ``.env`` (pydantic-settings), one model per concern.

Users set flat variables (``BOT_TOKEN``, ``SMTP_HOST``, ``TELEGRAM_RATE``…), each documented
in README.md and listed in ``.env.example``; each section's field names the variable it is
read from (``sections.py``, ``channels.py``), and ``Settings`` groups them into sections.
"""

from __future__ import annotations

import hashlib
import re
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Annotated, Any, assert_never
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.settings.channels import SendsaySettings, SmtpSettings, TelegramSettings, WebhookSettings
from bot.settings.fields import ConfigError, explained
from bot.settings.sections import (
    DEFAULT_DATABASE_URL,
    ApiSettings,
    DatabaseSettings,
    DeliverySettings,
    FeedbackSettings,
    HooksSettings,
    ImportSettings,
    LogSettings,
    RedisSettings,
    RetentionSettings,
    ScheduleSettings,
    WebSettings,
)
from domain.mailings import Channel

__all__ = ["DEFAULT_DATABASE_URL", "ConfigError", "Settings", "load_settings", "sqlite_path"]


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

    admin_ids: list[int] = Field(default_factory=list)  # made admins at every start
    timezone: Annotated[ZoneInfo, explained("must be an IANA time zone such as Europe/Moscow")] = (
        ZoneInfo("Europe/Moscow")
    )
    telegram: TelegramSettings
    log: LogSettings
    database: DatabaseSettings  # before delivery: the number of workers depends on it
    redis: RedisSettings
    web: WebSettings
    api: ApiSettings
    hooks: HooksSettings
    imports: ImportSettings
    sendsay: SendsaySettings
    smtp: SmtpSettings
    webhook: WebhookSettings
    delivery: DeliverySettings
    retention: RetentionSettings
    schedule: ScheduleSettings
    feedback: FeedbackSettings

    @classmethod
    def env_names(cls) -> list[str]:
        """Every variable users may set, upper-case as documented."""
        own = [name for name, field in cls.model_fields.items() if _section(field) is None]
        return [name.upper() for name in [*_sections_of_names(), *own]]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            FlatNames(settings_cls, env_settings),
            FlatNames(settings_cls, dotenv_settings),
        )

    @model_validator(mode="before")
    @classmethod
    def _group(cls, data: Any) -> Any:
        """The variables (or keyword overrides) into sections: ``{"smtp_host": …}`` becomes
        ``{"smtp": {"smtp_host": …}}``, which ``SmtpSettings`` reads as ``host``."""
        if not isinstance(data, dict):
            return data
        sections = _sections_of_names()
        grouped: dict[str, Any] = {k: v for k, v in data.items() if k not in sections}
        for name in {*sections.values()}:
            grouped[name] = dict(grouped.get(name) or {})
        for name, section in sections.items():
            if name in data:
                grouped[section][name] = data[name]
        return grouped

    @field_validator("delivery", mode="before")
    @classmethod
    def _workers_for_the_database(cls, value: Any, info: ValidationInfo) -> Any:
        """``WORKERS`` unset: 1 on SQLite (one writer), 2 on PostgreSQL."""
        if isinstance(value, dict) and value.get("workers") in (None, ""):
            database = info.data.get("database")
            sqlite = database is None or database.is_sqlite
            value = {**value, "workers": 1 if sqlite else 2}
        return value

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

    @model_validator(mode="after")
    def _sendsay_sender(self) -> Settings:
        """Sendsay has no default sender: every letter names one confirmed in the account."""
        if self.configured(Channel.sendsay) and "@" not in parseaddr(self.sendsay_sender)[1]:
            raise ValueError(
                "SENDSAY_FROM: Sendsay needs a sender confirmed in the account, e.g. "
                '"News <news@example.com>" (or set SMTP_FROM)'
            )
        return self

    def configured(self, channel: Channel) -> bool:
        """Whether ``channel``'s settings are present: the one place that says so. The
        dialog offers, launches accept (``channels``) and the workers build
        (``bot/delivery.py``) exactly these channels."""
        match channel:
            case Channel.telegram:  # the bot's own token
                return True
            case Channel.email:
                return bool(self.smtp.host and self.smtp.sender)
            case Channel.webhook:
                return bool(self.webhook.url)
            case Channel.sendsay:
                return bool(self.sendsay.account) and self.sendsay.api_key is not None
            case _:
                assert_never(channel)

    @property
    def channels(self) -> frozenset[Channel]:
        """The configured channels; the others are shown as not configured."""
        return frozenset(channel for channel in Channel if self.configured(channel))

    @property
    def sendsay_sender(self) -> str:
        """The sender of Sendsay letters: ``SENDSAY_FROM``, else ``SMTP_FROM``."""
        return self.sendsay.sender or self.smtp.sender or ""

    def unsubscribe_key(self) -> bytes:
        """HMAC key of unsubscribe links: ``UNSUBSCRIBE_SECRET``, else derived from the token,
        so links stay valid across restarts without another setting to manage."""
        if self.web.unsubscribe_secret is not None:
            return self.web.unsubscribe_secret.get_secret_value().encode()
        token = self.telegram.token().encode()
        return hashlib.sha256(b"mailforge-unsubscribe|" + token).digest()


def _aliases(section: type[BaseModel]) -> list[str]:
    names = []
    for field in section.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, str), "each section field names its variable"
        names.append(alias)
    return names


def _section(field: FieldInfo) -> type[BaseModel] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


@cache
def _sections_of_names() -> dict[str, str]:
    """Each section's variable (lower-case) → the section that holds it."""
    found: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        if (section := _section(field)) is not None:
            found.update(dict.fromkeys(_aliases(section), name))
    return found


class FlatNames(PydanticBaseSettingsSource):
    """The variables users set, by their flat names (``SMTP_HOST``), from the environment or
    ``.env``; ``Settings`` groups them into sections."""

    def __init__(self, settings_cls: type[BaseSettings], source: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        assert isinstance(source, EnvSettingsSource)  # .env's source is one too
        self._variables = source.env_vars

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads every name at once

    def __call__(self) -> dict[str, Any]:
        names = [name.lower() for name in Settings.env_names()]
        return {n: self._variables[n] for n in names if self._variables.get(n) is not None}


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite+aiosqlite:///"):
        return None
    return Path(url.removeprefix("sqlite+aiosqlite:///"))


def load_settings(**overrides: object) -> Settings:
    """Load settings or raise ``ConfigError`` with one line per bad setting; ``overrides``
    are keyed by the variables' names (``smtp_host="…"``)."""
    names = {name.lower() for name in Settings.env_names()}
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            named = [str(part) for part in err["loc"] if str(part) in names]
            reason = "is missing" if err["type"] == "missing" else err["msg"]
            reason = reason.removeprefix("Value error, ")
            lines.append(f"{named[0].upper()}: {reason}" if named else reason)
        raise ConfigError("; ".join(lines)) from None
