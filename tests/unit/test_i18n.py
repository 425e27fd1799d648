"""Locale files: both languages translate every key the code uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from domain.mailings import Channel, MailingStatus
from domain.recipients import AddressKind, ListSourceKind
from domain.runs import RunStatus
from domain.stats import Period
from domain.users import Role
from handlers.callbacks import StatsAct
from handlers.i18n import LOCALES_DIR, choose_locale, make_i18n, translate
from handlers.lists_kb import ListAct
from handlers.mailings_kb import MailingAct, Step
from handlers.menu import ADMIN_COMMANDS, STRANGER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")


def catalog_keys(locale: str) -> set[str]:
    keys: set[str] = set()
    for po_path in (LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"):
        with po_path.open("rb") as f:
            keys |= {
                m.id[0] if m.pluralizable else str(m.id)
                for m in read_po(f, locale=locale)
                if m.id and (all(m.string) if m.pluralizable else m.string)
            }
    return keys


def keys_used_in_code() -> set[str]:
    """String literals that look like message keys, passed to t()/translate()/errors."""
    used: set[str] = set()
    for folder in ("domain", "handlers", "bot", "infrastructure"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and KEY.match(node.value)
                    and node.value.split("-")[0] in PREFIXES
                ):
                    used.add(node.value)
    return used


PREFIXES = {
    "error",
    "segment",
    "segments",
    "local",
    "tags",
    "ab",
    "import",
    "fetch",
    "sendsay",
    "help",
    "grant",
    "revoke",
    "users",
    "notify",
    "forward",
    "stranger",
    "button",
    "role",
    "cmd",
    "unknown",
    "nothing",
    "cancelled",
    "content",
    "schedule",
    "dialog",
    "mailings",
    "preview",
    "templates",
    "lists",
    "members",
    "unsuppress",
    "web",
    "channel",
    "run",
    "launch",
    "stats",
}
# Strings that look like keys but are not user texts (HTTP headers).
NOT_KEYS = {"content-type", "content-length", "content-disposition", "content-encoding"}


def test_russian_and_english_have_the_same_keys() -> None:
    assert catalog_keys("ru") == catalog_keys("en")


def test_every_key_used_in_code_is_translated() -> None:
    dynamic = {f"role-{r.value}" for r in Role} | {f"cmd-{c}" for c in ADMIN_COMMANDS}
    dynamic |= {f"cmd-{c}" for c in STRANGER_COMMANDS}
    dynamic |= {f"mailings-status-{s.value}" for s in MailingStatus}
    dynamic |= {f"channel-{c.value}" for c in Channel} | {f"kind-{k.value}" for k in AddressKind}
    dynamic |= {f"mailings-button-{g.value}" for g in MailingAct} - {
        "mailings-button-browse",
        "mailings-button-open",
        "mailings-button-del_yes",
    }
    dynamic |= {f"mailings-edit-{step.value}" for step in Step} - {"mailings-edit-preview"}
    dynamic |= {f"lists-button-{a.value}" for a in ListAct} - {
        "lists-button-home",
        "lists-button-open",
        "lists-button-new",
        "lists-button-delete_yes",
        "lists-button-gone",  # the re-import's offer words its own button
    }
    dynamic |= {f"lists-source-{k.value}" for k in ListSourceKind}
    dynamic |= {f"run-status-{s.value}" for s in RunStatus}
    dynamic |= {f"stats-button-{a.value}" for a in (StatsAct.csv, StatsAct.xlsx)}
    dynamic |= {f"stats-admin-{p.value}" for p in Period} | {
        f"stats-chart-{p.value}" for p in Period
    }
    dynamic |= {f"stats-status-{s}" for s in ("failed", "refused")}
    dynamic |= {f"dialog-option-{o}" for o in ("link_preview", "silent", "protect")}
    missing = (keys_used_in_code() - NOT_KEYS | dynamic) - catalog_keys("ru")
    assert not missing


@pytest.mark.parametrize(
    ("code", "expected"),
    [("en", "en"), ("en-US", "en"), ("ru", "ru"), ("de", "ru"), (None, "ru"), ("", "ru")],
)
def test_language_follows_telegram_with_russian_fallback(code: str | None, expected: str) -> None:
    assert choose_locale(code, ("en", "ru")) == expected


def test_placeholders_are_filled_and_unknown_ones_stay_visible() -> None:
    i18n = make_i18n()
    assert translate(i18n, "grant-done", "en", {"who": "@ann", "role": "admin"}) == (
        "Done: @ann is now admin."
    )
    assert "{role}" in translate(i18n, "grant-done", "en", {"who": "@ann"})


@pytest.mark.parametrize(
    ("count", "ru", "en"),
    [
        (1, "1 адрес отписался", "1 address unsubscribed"),
        (2, "2 адреса отписались", "2 addresses unsubscribed"),
        (5, "5 адресов отписались", "5 addresses unsubscribed"),
        (11, "11 адресов отписались", "11 addresses unsubscribed"),
        (21, "21 адрес отписался", "21 addresses unsubscribed"),
        (24, "24 адреса отписались", "24 addresses unsubscribed"),
    ],
)
def test_counted_words_take_the_languages_plural_forms(count: int, ru: str, en: str) -> None:
    i18n = make_i18n()
    assert translate(i18n, "preview-suppressed", "ru", {"count": count}).startswith(ru)
    assert translate(i18n, "preview-suppressed", "en", {"count": count}).startswith(en)


def test_every_plural_message_has_every_form_in_both_languages() -> None:
    forms = {"ru": 3, "en": 2}
    for locale, wanted in forms.items():
        for po_path in (LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"):
            with po_path.open("rb") as f:
                for m in read_po(f, locale=locale):
                    if m.pluralizable:
                        assert len(m.string) == wanted and all(m.string), (locale, m.id)
                        assert all("{count}" in form for form in m.string), (locale, m.id)


def test_one_copy_is_one_copy() -> None:
    i18n = make_i18n()
    text = translate(i18n, "followup-recall-confirm", "en", {"count": 1, "run": 7})
    assert "1 copy was delivered" in text
    assert "3 copies were" in translate(i18n, "followup-recall-confirm", "en", {"count": 3})


def test_every_catalog_parses_cleanly() -> None:
    """A raw line break inside a string is not PO: babel warns and drops the message's
    end (a manager then reads half a sentence); ``abort_invalid`` makes it an error."""
    for po_path in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as f:
            read_po(f, abort_invalid=True)
