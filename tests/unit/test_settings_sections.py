"""Settings are grouped per concern (``settings.smtp.host``) while users keep setting the flat
variables README.md documents (``SMTP_HOST``): each variable reaches its field from the
environment, ``.env`` and keyword overrides, and a bad value is named by its variable."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import certifi
import pytest
from pydantic import BaseModel, SecretStr

from bot.settings import ConfigError, Settings, load_settings
from tests.unit.test_settings import TOKEN, clean_env

__all__ = ["clean_env"]  # autouse: no settings or .env from the machine

CA = certifi.where()  # a PEM file of CA certificates that is always there

# Every variable, a value other than its default, the field it lands on, what it reads as.
VARIABLES: list[tuple[str, str, str, object]] = [
    ("BOT_TOKEN", TOKEN, "telegram.bot_token", SecretStr(TOKEN)),
    ("TELEGRAM_API_URL", "http://tg.local:8081/", "telegram.api_url", "http://tg.local:8081"),
    ("TELEGRAM_RATE", "100", "telegram.rate", 100.0),
    (
        "TELEGRAM_WEBHOOK_URL",
        "https://b.example/tg",
        "telegram.webhook_url",
        "https://b.example/tg",
    ),
    ("TELEGRAM_WEBHOOK_SECRET", "s3cret", "telegram.webhook_secret", SecretStr("s3cret")),
    ("LOG_LEVEL", "warning", "log.level", "WARNING"),
    ("LOG_FORMAT", "JSON", "log.format", "json"),
    (
        "DATABASE_URL",
        "postgres://u@db/mf",
        "database.url",
        SecretStr("postgresql+asyncpg://u@db/mf"),
    ),
    ("REDIS_URL", "redis://cache:6379/1", "redis.url", SecretStr("redis://cache:6379/1")),
    ("REDIS_KEY_PREFIX", "bot-2", "redis.key_prefix", "bot-2"),
    ("PUBLIC_BASE_URL", "https://mf.example", "web.public_base_url", "https://mf.example"),
    ("WEB_HOST", "0.0.0.0", "web.host", "0.0.0.0"),  # noqa: S104 (a value, not a bind)
    ("WEB_PORT", "9090", "web.port", 9090),
    ("UNSUBSCRIBE_SECRET", "u-key", "web.unsubscribe_secret", SecretStr("u-key")),
    ("API_ENABLED", "true", "api.enabled", True),
    ("API_HOST", "0.0.0.0", "api.host", "0.0.0.0"),  # noqa: S104
    ("API_PORT", "8081", "api.port", 8081),
    ("API_RATE", "5", "api.rate", 5),
    ("API_BODY_MAX_BYTES", "2048", "api.body_max_bytes", 2048),
    ("HOOKS_ALLOW_PRIVATE_URLS", "1", "hooks.allow_private_urls", True),
    ("HOOKS_TIMEOUT", "2.5", "hooks.timeout", 2.5),
    ("HOOKS_MAX_ATTEMPTS", "3", "hooks.max_attempts", 3),
    ("HOOKS_RETRY_SECONDS", "7", "hooks.retry_seconds", 7.0),
    ("IMPORT_MAX_BYTES", "4096", "imports.max_bytes", 4096),
    ("IMPORT_FETCH_TIMEOUT", "9", "imports.fetch_timeout", 9.0),
    ("IMPORT_ALLOW_PRIVATE_URLS", "yes", "imports.allow_private_urls", True),
    ("SENDSAY_ACCOUNT", "acme", "sendsay.account", "acme"),
    ("SENDSAY_API_KEY", "k-123", "sendsay.api_key", SecretStr("k-123")),
    ("SENDSAY_API_URL", "http://ss.local/json", "sendsay.api_url", "http://ss.local/json"),
    ("SENDSAY_FROM", "S <s@acme.example>", "sendsay.sender", "S <s@acme.example>"),
    ("SENDSAY_RELINK", "false", "sendsay.relink", False),
    ("SENDSAY_BULK_THRESHOLD", "50", "sendsay.mass_send_threshold", 50),
    ("SENDSAY_POLL_SECONDS", "3", "sendsay.poll_seconds", 3.0),
    ("SENDSAY_REPORT_WAIT_SECONDS", "600", "sendsay.report_wait_seconds", 600),
    ("SMTP_HOST", " smtp.example ", "smtp.host", "smtp.example"),
    ("SMTP_PORT", "465", "smtp.port", 465),
    ("SMTP_SECURITY", "tls", "smtp.security", "tls"),
    ("SMTP_USERNAME", "mailer", "smtp.username", "mailer"),
    ("SMTP_PASSWORD", "pw", "smtp.password", SecretStr("pw")),
    ("SMTP_FROM", "N <n@example.com>", "smtp.sender", "N <n@example.com>"),
    ("SMTP_CA_FILE", CA, "smtp.ca_file", CA),
    ("WEBHOOK_URL", "https://api.example/send", "webhook.url", "https://api.example/send"),
    ("WEBHOOK_HEADERS", '{"X-Token": "t"}', "webhook.headers", {"X-Token": SecretStr("t")}),
    ("WORKERS", "3", "delivery.workers", 3),
    ("DELIVERY_BATCH_SIZE", "200", "delivery.batch_size", 200),
    ("DELIVERY_BATCH_SECONDS", "2", "delivery.batch_seconds", 2.0),
    ("DELIVERY_MAX_ATTEMPTS", "9", "delivery.max_attempts", 9),
    ("CHANNEL_OUTAGE_BUDGET_SECONDS", "120", "delivery.outage_budget_seconds", 120),
    ("CHANNEL_OUTAGE_NOTICE_SECONDS", "30", "delivery.outage_notice_seconds", 30),
    ("CHANNEL_OUTAGE_PROBE_SECONDS", "0.5", "delivery.outage_probe_seconds", 0.5),
    ("WORKER_HEARTBEAT_SECONDS", "4", "delivery.heartbeat_seconds", 4.0),
    ("DELIVERY_LEASE_SECONDS", "400", "delivery.lease_seconds", 400),
    ("DELIVERY_RETENTION_DAYS", "0", "retention.delivery_days", 0),
    ("SCHEDULER_TICK_SECONDS", "5", "schedule.tick_seconds", 5.0),
    ("SCHEDULE_GRACE_MINUTES", "10", "schedule.grace_minutes", 10),
    ("SCHEDULE_MIN_INTERVAL_MINUTES", "15", "schedule.min_interval_minutes", 15),
    ("TRACKING", "off", "feedback.tracking", False),
    ("BOUNCE_ADDRESS", "b@example.com", "feedback.bounce_address", "b@example.com"),
    (
        "BOUNCE_IMAP_URL",
        "imaps://u:p@imap.example/INBOX",
        "feedback.bounce_imap_url",
        SecretStr("imaps://u:p@imap.example/INBOX"),
    ),
    ("BOUNCE_POLL_SECONDS", "30", "feedback.bounce_poll_seconds", 30.0),
    ("SOFT_BOUNCE_LIMIT", "5", "feedback.soft_bounce_limit", 5),
    ("ADMIN_IDS", "1, 2", "admin_ids", [1, 2]),
    ("TIMEZONE", "Asia/Tokyo", "timezone", ZoneInfo("Asia/Tokyo")),
]
NEEDS = {  # a variable that is only valid beside another
    "SENDSAY_ACCOUNT": {"SENDSAY_API_KEY": "k", "SENDSAY_FROM": "s@acme.example"},
    "BOUNCE_IMAP_URL": {"BOUNCE_ADDRESS": "b@example.com"},
}


def _field(settings: Settings, path: str) -> object:
    value: object = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


def test_the_table_covers_every_documented_variable_each_read_by_one_field() -> None:
    covered = {name for name, *_ in VARIABLES}
    names = Settings.env_names()
    assert covered == set(names)
    aliases = [
        field.validation_alias
        for section in Settings.model_fields.values()
        if isinstance(section.annotation, type) and issubclass(section.annotation, BaseModel)
        for field in section.annotation.model_fields.values()
    ]
    assert len(aliases) == len(set(aliases)) == len(names) - 2  # and ADMIN_IDS, TIMEZONE


@pytest.mark.parametrize(("name", "value", "path", "expected"), VARIABLES)
def test_each_variable_reaches_its_field_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, path: str, expected: object
) -> None:
    for other, other_value in NEEDS.get(name, {}).items():
        monkeypatch.setenv(other, other_value)
    monkeypatch.setenv(name, value)
    assert _field(load_settings(), path) == expected


@pytest.mark.parametrize(("name", "value", "path", "expected"), VARIABLES)
def test_each_variable_reaches_its_field_from_dotenv_and_overrides(
    tmp_path: Path, name: str, value: str, path: str, expected: object
) -> None:
    extra = NEEDS.get(name, {})
    lines = [f"{k}={v}" for k, v in {**extra, name: value}.items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    assert _field(load_settings(), path) == expected
    (tmp_path / ".env").unlink()
    overrides = {k.lower(): v for k, v in {**extra, name: value}.items()}
    assert _field(load_settings(**overrides), path) == expected


def test_the_environment_wins_over_dotenv_and_overrides_over_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("SMTP_PORT=2525\nSMTP_HOST=from-file\n")
    monkeypatch.setenv("SMTP_PORT", "465")
    settings = load_settings()
    assert (settings.smtp.host, settings.smtp.port) == ("from-file", 465)
    assert load_settings(smtp_port=25).smtp.port == 25


def test_variables_are_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("smtp_host", "lower.example")
    assert load_settings().smtp.host == "lower.example"


def test_two_bad_values_in_two_sections_are_both_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PORT", "-1")
    monkeypatch.setenv("DELIVERY_BATCH_SIZE", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "SMTP_PORT: " in message and "DELIVERY_BATCH_SIZE: " in message
    assert "smtp" not in message.replace("SMTP_PORT", "")  # no section names or paths


def test_secrets_stay_hidden_in_every_section(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"SMTP_PASSWORD": "pw-1", "SENDSAY_API_KEY": "k-2", "UNSUBSCRIBE_SECRET": "u-3"}
    for name, value in {**secrets, "WEBHOOK_HEADERS": '{"A": "h-4"}'}.items():
        monkeypatch.setenv(name, value)
    shown = repr(load_settings()) + str(load_settings().model_dump())
    assert not any(value in shown for value in [*secrets.values(), "h-4"])
