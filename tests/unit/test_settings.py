"""Settings: defaults that run with only a token, and one clear line per bad setting."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.cli import derived_secrets
from bot.logs import RedactingFormatter, secrets_of
from bot.settings import DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.env_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_a_token_alone_gives_a_runnable_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert settings.telegram.token() == TOKEN
    assert settings.database.url.get_secret_value() == DEFAULT_DATABASE_URL
    assert settings.database.is_sqlite
    assert settings.admin_ids == []
    assert settings.telegram.api_url == "https://api.telegram.org"
    assert settings.timezone.key == "Europe/Moscow"
    assert settings.redis.url is None
    assert settings.redis.key_prefix == "mailforge"
    assert settings.log.level == "INFO"


def test_values_come_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"BOT_TOKEN={TOKEN}\nADMIN_IDS=11, 22;33\nTIMEZONE=Europe/Berlin\nlog_level=debug\n"
        "DATABASE_URL=postgres://u:pa55w0rd@db:5432/mf\nTELEGRAM_API_URL=http://localhost:8081/\n"
    )
    settings = load_settings()
    assert settings.admin_ids == [11, 22, 33]
    assert settings.timezone.key == "Europe/Berlin"
    assert settings.log.level == "DEBUG"
    assert settings.database.url.get_secret_value() == "postgresql+asyncpg://u:pa55w0rd@db:5432/mf"
    assert settings.telegram.api_url == "http://localhost:8081"
    assert "pa55w0rd" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("BOT_TOKEN", "not-a-token", "BOT_TOKEN: must look like"),
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS: must be Telegram user ids"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: must be an IANA time zone"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: must be postgresql"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL: must be an http(s) URL"),
        ("PUBLIC_BASE_URL", "example.com", "PUBLIC_BASE_URL: must be an http(s) URL"),
        ("WEB_PORT", "99999", "WEB_PORT:"),
        ("WEBHOOK_HEADERS", "[1, 2]", "WEBHOOK_HEADERS: must be a JSON object"),
        ("WEBHOOK_URL", "api.example.com", "WEBHOOK_URL: must be an http(s) URL"),
        ("SMTP_SECURITY", "ssl3", "SMTP_SECURITY:"),
        ("SMTP_CA_FILE", "/nowhere/ca.pem", "SMTP_CA_FILE: no such file: /nowhere/ca.pem"),
        ("SMTP_CA_FILE", "/etc/passwd", "SMTP_CA_FILE: not a PEM file of certificates"),
        ("TELEGRAM_WEBHOOK_URL", "bot.example.com/tg", "TELEGRAM_WEBHOOK_URL: must be"),
        ("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/metrics", "path /metrics is taken"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces!", "TELEGRAM_WEBHOOK_SECRET: must be 1-256"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL:"),
        ("DELIVERY_BATCH_SECONDS", "0", "DELIVERY_BATCH_SECONDS:"),
        ("TELEGRAM_RATE", "1001", "TELEGRAM_RATE: must be above 0 and at most 1000 messages/s"),
        ("TELEGRAM_RATE", "0", "TELEGRAM_RATE: must be above 0 and at most 1000 messages/s"),
        ("TELEGRAM_RATE", "-5", "TELEGRAM_RATE: must be above 0 and at most 1000 messages/s"),
        ("TELEGRAM_RATE", "fast", "TELEGRAM_RATE:"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL: must be redis://host:6379/0"),
        ("REDIS_URL", "http://cache:6379", "REDIS_URL: must be redis://host:6379/0"),
        # pydantic's own messages, named by the variable rather than its section's field
        ("SMTP_PORT", "0", "SMTP_PORT: Input should be greater than 0"),
        ("API_PORT", "70000", "API_PORT: Input should be less than or equal to 65535"),
        ("HOOKS_MAX_ATTEMPTS", "many", "HOOKS_MAX_ATTEMPTS: Input should be a valid integer"),
        ("TRACKING", "maybe", "TRACKING: Input should be a valid boolean"),
        ("WEBHOOK_HEADERS", '{"X-Token": 1}', "WEBHOOK_HEADERS: must be a JSON object of strings"),
        ("WEBHOOK_HEADERS", "{not json", "WEBHOOK_HEADERS: must be a JSON object of strings"),
        ("SENDSAY_API_URL", "https://", "SENDSAY_API_URL: must be an http(s) URL"),
        ("TELEGRAM_WEBHOOK_URL", "https://b.example/o/1", "TELEGRAM_WEBHOOK_URL: its path /o/1"),
        ("REDIS_URL", "memcached://c:11211", "REDIS_URL: must be redis://host:6379/0"),
    ],
)
def test_a_malformed_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(fragment) if fragment.startswith(name) else fragment in message
    assert "\n" not in message


def test_every_setting_left_empty_means_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    defaults = load_settings()
    for name in Settings.env_names():
        if name != "BOT_TOKEN":
            monkeypatch.setenv(name, "")
    assert load_settings().model_dump() == defaults.model_dump()


def test_an_unedited_env_example_loads_with_its_empty_settings_unset(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text())
    settings = load_settings()
    assert settings.redis.url is None
    assert settings.smtp.host is None and settings.webhook.headers is None
    assert settings.admin_ids == [] and settings.delivery.workers == 1
    assert settings.telegram.webhook_url is None and settings.web.unsubscribe_secret is None


def test_a_lease_shorter_than_a_few_batches_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELIVERY_BATCH_SECONDS", "30")
    monkeypatch.setenv("DELIVERY_LEASE_SECONDS", "60")
    with pytest.raises(ConfigError, match=r"DELIVERY_LEASE_SECONDS: must be at least 5 × .*150"):
        load_settings()
    monkeypatch.setenv("DELIVERY_LEASE_SECONDS", "150")
    assert load_settings().delivery.batch_seconds == 30


def test_a_lease_shorter_than_the_heartbeats_silence_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKER_HEARTBEAT_SECONDS", "10")
    monkeypatch.setenv("DELIVERY_LEASE_SECONDS", "20")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("DELIVERY_LEASE_SECONDS: must be at least 3 heartbeats (30 s)")
    assert "WORKER_HEARTBEAT_SECONDS=10" in message and "\n" not in message
    monkeypatch.setenv("DELIVERY_LEASE_SECONDS", "30")
    assert load_settings().delivery.liveness.silence.total_seconds() == 30
    monkeypatch.setenv("WORKER_HEARTBEAT_SECONDS", "0")
    with pytest.raises(ConfigError, match="WORKER_HEARTBEAT_SECONDS: "):
        load_settings()


def test_a_missing_token_is_reported_only_where_it_is_needed() -> None:
    settings = load_settings()  # migrate and admin commands work without a token
    with pytest.raises(ConfigError, match="BOT_TOKEN: is missing"):
        settings.telegram.token()


def test_a_malformed_token_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:short-secret-value")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "short-secret-value" not in str(info.value)


def test_log_lines_never_show_secrets() -> None:
    formatter = RedactingFormatter([TOKEN, "p4ssw0rd"])
    record = logging.LogRecord(
        "aiohttp", logging.INFO, __file__, 1, "GET /bot%s/getMe db=%s", (TOKEN, "p4ssw0rd"), None
    )
    line = formatter.format(record)
    assert TOKEN not in line and "p4ssw0rd" not in line
    assert "GET /bot***/getMe db=***" in line


def test_every_secret_setting_is_redacted_including_header_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("WEBHOOK_HEADERS", '{"Authorization": "Bearer hush-hush-123"}')
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-pa55word")
    formatter = RedactingFormatter(secrets_of(load_settings()))
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "%s %s %s",
        (TOKEN, "Bearer hush-hush-123", "smtp-pa55word"),
        None,
    )
    assert formatter.format(record).endswith("*** *** ***")


def test_a_redis_key_prefix_with_spaces_or_wildcards_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert load_settings(redis_key_prefix="bot-2:prod").redis.key_prefix == "bot-2:prod"
    for bad in ("two words", "bot*", ""):
        with pytest.raises(ConfigError, match="REDIS_KEY_PREFIX"):
            load_settings(redis_key_prefix=bad)


def test_webhook_mode_is_off_until_a_telegram_webhook_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("WEBHOOK_URL", "https://api.example.com/send")  # the channel, not mode
    settings = load_settings()
    assert settings.telegram.webhook_url is None
    assert settings.telegram.webhook_path is None
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/tg/updates")
    assert load_settings().telegram.webhook_path == "/tg/updates"


def test_the_webhook_secret_is_derived_from_the_token_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    derived = load_settings().telegram.webhook_key()
    assert derived == load_settings().telegram.webhook_key()  # stable across restarts
    assert TOKEN.split(":")[1] not in derived
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", derived)  # what Telegram accepts
    monkeypatch.setenv("BOT_TOKEN", "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    assert load_settings().telegram.webhook_key() != derived
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "my-own_Secret1")
    settings = load_settings()
    assert settings.telegram.webhook_key() == "my-own_Secret1"
    assert "my-own_Secret1" in secrets_of(settings)  # redacted from logs


def test_a_derived_webhook_secret_is_redacted_from_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert derived_secrets(load_settings()) == []  # polling: no webhook secret in use
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/tg")
    settings = load_settings()
    key = settings.telegram.webhook_key()
    line = RedactingFormatter(derived_secrets(settings)).format(
        logging.LogRecord("x", logging.INFO, __file__, 1, "secret_token=%s", (key,), None)
    )
    assert key not in line and "secret_token=***" in line


def test_in_process_workers_default_to_two_on_postgresql_and_one_on_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert load_settings().delivery.workers == 1
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/mf")
    assert load_settings().delivery.workers == 2
    monkeypatch.setenv("WORKERS", "")  # as .env.example leaves it
    assert load_settings().delivery.workers == 2
    monkeypatch.setenv("WORKERS", "0")
    assert load_settings().delivery.workers == 0
