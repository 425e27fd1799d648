"""Sendsay settings: a sender is required (Sendsay has no default one), click tracking is
on unless turned off, and ``mailforge run`` stops with one line when the sender is missing."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.settings import ConfigError, load_settings
from domain.mailings import Channel
from tests.unit.test_settings import TOKEN, clean_env

__all__ = ["clean_env"]  # autouse: no SENDSAY_* or .env from the machine


def test_sendsay_without_a_sender_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(sendsay_account="acme", sendsay_api_key="k")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("SENDSAY_FROM:")
    assert "SMTP_FROM" in message


@pytest.mark.parametrize("sender", ["news", "News <>", "   "])
def test_a_sender_without_an_address_is_refused(sender: str) -> None:
    with pytest.raises(ConfigError, match="SENDSAY_FROM"):
        load_settings(sendsay_account="acme", sendsay_api_key="k", sendsay_from=sender)


def test_the_sender_is_sendsay_from_else_smtp_from() -> None:
    both = load_settings(
        sendsay_account="acme",
        sendsay_api_key="k",
        sendsay_from="News <news@acme.example>",
        smtp_from="Mail <mail@acme.example>",
    )
    smtp_only = load_settings(
        sendsay_account="acme", sendsay_api_key="k", smtp_from="mail@acme.example"
    )
    assert both.sendsay_sender == "News <news@acme.example>"
    assert smtp_only.sendsay_sender == "mail@acme.example"
    assert both.sendsay.relink is True
    assert load_settings(sendsay_relink="false").sendsay.relink is False


def test_without_sendsay_no_sender_is_needed() -> None:
    assert not load_settings(sendsay_api_key="k").configured(Channel.sendsay)


def test_mailforge_run_stops_with_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SENDSAY_ACCOUNT", "acme")
    monkeypatch.setenv("SENDSAY_API_KEY", "k")

    assert main(["run"]) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "SENDSAY_FROM" in lines[0]
