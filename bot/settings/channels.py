"""The channels' settings: Telegram (also the bot's own link to it), SMTP, Sendsay and the
webhook channel. ``Settings.configured`` says which are configured."""

from __future__ import annotations

import hashlib
import hmac
import ssl
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, Json, SecretStr, field_validator

from bot.settings.fields import (
    ConfigError,
    StrippedSecret,
    Text,
    Unset,
    env,
    explained,
    http_url,
    secret_matching,
)
from bot.settings.sections import Section

BOT_TOKEN_SHAPE = secret_matching(
    r"^\d{3,}:[A-Za-z0-9_-]{20,}$",
    "must look like 123456789:AA... (the token @BotFather gave you)",
)
# https://core.telegram.org/bots/api#setwebhook: secret_token is 1-256 of these characters.
WEBHOOK_SECRET_SHAPE = secret_matching(
    r"^[A-Za-z0-9_-]{1,256}$",
    "must be 1-256 characters A-Z, a-z, 0-9, _ and - (Telegram's rule)",
)
RESERVED_PATHS = frozenset({"/healthz", "/metrics"})
# infrastructure.channels.smtp.Security, not imported: commands that send no email (migrate,
# admin) need not load aiosmtplib.
SmtpSecurity = Literal["starttls", "tls", "none"]


class TelegramSettings(Section):
    """The bot's link to Telegram: its token, the Bot API server, updates by webhook, and the
    rate of messages in all chats (free 30/s; above that, paid broadcasts up to 1000/s)."""

    bot_token: Annotated[StrippedSecret | None, Unset, BOT_TOKEN_SHAPE] = env("bot_token")
    api_url: Annotated[Text, http_url()] = env("telegram_api_url", "https://api.telegram.org")
    rate: Annotated[
        float,
        Field(gt=0, le=1000),
        explained(
            "must be above 0 and at most 1000 messages/s (Telegram allows 30/s free and "
            "up to 1000/s with paid broadcasts)"
        ),
    ] = env("telegram_rate", 30.0)
    # Updates by webhook instead of polling (WEBHOOK_URL is the webhook *channel*).
    webhook_url: Annotated[
        Text | None, Unset, http_url("must be the public https URL Telegram posts updates to")
    ] = env("telegram_webhook_url")
    webhook_secret: Annotated[StrippedSecret | None, Unset, WEBHOOK_SECRET_SHAPE] = env(
        "telegram_webhook_secret"
    )

    @field_validator("webhook_url")
    @classmethod
    def _path_is_free(cls, value: str | None) -> str | None:
        path = (urlsplit(value).path or "/") if value else None
        if path is not None and (
            path in RESERVED_PATHS or path.startswith(("/unsubscribe/", "/o/", "/c/"))
        ):
            raise ValueError(
                f"its path {path} is taken by the bot's own pages; use e.g. /telegram"
            )
        return value

    def token(self) -> str:
        """The bot token; only the commands that talk to Telegram need it."""
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN: is missing (get one from @BotFather)")
        return self.bot_token.get_secret_value()

    def webhook_key(self) -> str:
        """Secret token Telegram sends with every webhook call: ``TELEGRAM_WEBHOOK_SECRET``,
        else an HMAC of the bot token (stable across restarts, nothing more to manage)."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        mac = hmac.new(self.token().encode(), b"mailforge-telegram-webhook", hashlib.sha256)
        return mac.hexdigest()

    @property
    def webhook_path(self) -> str | None:
        """Where the bot's web server takes updates: the path of ``TELEGRAM_WEBHOOK_URL``."""
        if self.webhook_url is None:
            return None
        return urlsplit(self.webhook_url).path or "/"


class SendsaySettings(Section):
    """The Sendsay channel and list import; configured with an account and its key."""

    account: Annotated[Text | None, Unset] = env("sendsay_account")
    api_key: Annotated[SecretStr | None, Unset] = env("sendsay_api_key")
    api_url: Annotated[Text, http_url()] = env(
        "sendsay_api_url", "https://api.sendsay.ru/general/api/v100/json"
    )
    sender: Annotated[Text | None, Unset] = env("sendsay_from")  # confirmed in the account
    relink: bool = env("sendsay_relink", True)  # Sendsay's click tracking in its letters
    # Runs of at least this many recipients go out as one Sendsay mass send; its statuses
    # are polled every poll_seconds and waited for report_wait_seconds.
    mass_send_threshold: int = env("sendsay_bulk_threshold", 1000, ge=1)
    poll_seconds: float = env("sendsay_poll_seconds", 30.0, gt=0)
    report_wait_seconds: int = env("sendsay_report_wait_seconds", 6 * 3600, ge=1)


class SmtpSettings(Section):
    """Email through your SMTP relay; configured once host and sender are set."""

    host: Annotated[Text | None, Unset] = env("smtp_host")
    port: int = env("smtp_port", 587, gt=0, le=65535)
    security: SmtpSecurity = env("smtp_security", "starttls")
    username: Annotated[Text | None, Unset] = env("smtp_username")
    password: Annotated[SecretStr | None, Unset] = env("smtp_password")
    sender: Annotated[Text | None, Unset] = env("smtp_from")  # "News <news@example.com>"
    # A PEM file of CA certificates (or the relay's self-signed certificate) to trust
    # besides the system's, for a relay whose certificate a private CA signed.
    ca_file: Annotated[Text | None, Unset] = env("smtp_ca_file")

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, path: str | None) -> str | None:
        if path is None:
            return None
        try:
            ssl.create_default_context().load_verify_locations(cafile=path)
        except FileNotFoundError:
            raise ValueError(f"no such file: {path}") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ValueError(f"not a PEM file of certificates: {path} ({exc})") from None
        return path


class WebhookSettings(Section):
    """The webhook channel: a third-party API every message is POSTed to as JSON."""

    url: Annotated[
        Text | None, Unset, http_url("must be an http(s) URL such as https://api.example.com/send")
    ] = env("webhook_url")
    # Extra headers, e.g. {"Authorization": "…"}; their values are secrets.
    headers: Annotated[
        Json[dict[str, SecretStr]] | None,
        Unset,
        explained('must be a JSON object of strings, e.g. {"X-Token": "..."}'),
    ] = env("webhook_headers")
