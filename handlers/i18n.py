"""Translations: gettext catalogs read straight from the ``.po`` files.

aiogram's ``I18n`` looks for compiled ``.mo`` files; compiling them in memory at start
keeps binary files out of the repository and can never serve a stale catalog.
Message ids are keys (``help-admin``); both languages translate every key.
"""

from __future__ import annotations

import functools
import gettext
import html
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from io import BytesIO
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "mailforge"
DEFAULT_LOCALE = "ru"


class PoI18n(I18n):
    """Each locale may have several ``.po`` files (one per feature); they are merged.

    A message with plural forms (``msgid_plural`` and ``msgstr[n]``, the key as both ids)
    is chosen by its ``{count}`` with the locale's own rules (Babel's CLDR data writes
    the catalog's ``Plural-Forms``): "1 адрес", "2 адреса", "5 адресов".
    """

    plural_keys: set[str]

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        catalogs = _read_catalogs(self.path, _po_files(self.path))
        self.plural_keys = set(catalogs.plural_keys)
        return dict(catalogs.translations)


@dataclass(frozen=True)
class _Catalogs:
    translations: dict[str, gettext.GNUTranslations]  # read only once built
    plural_keys: frozenset[str]


def _po_files(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Every ``.po`` file under ``path`` with its modification time and size."""
    files = []
    for po_path in sorted(path.glob("*/LC_MESSAGES/*.po")):
        stat = po_path.stat()
        files.append((str(po_path), stat.st_mtime_ns, stat.st_size))
    return tuple(files)


@functools.lru_cache(maxsize=4)
def _read_catalogs(path: Path, files: tuple[tuple[str, int, int], ...]) -> _Catalogs:
    """Parse and compile the catalogs once per process for the same files (keyed by their
    times and sizes, so an edited ``.po`` is read again): Babel took about 0.2 s of CPU
    for each app built, which tests do hundreds of times."""
    plural_keys: set[str] = set()
    translations: dict[str, gettext.GNUTranslations] = {}
    for locale_dir in sorted(path.iterdir()):
        merged: Catalog | None = None
        for po_path in sorted((locale_dir / "LC_MESSAGES").glob("*.po")):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=locale_dir.name)
            plural_keys |= {m.id[0] for m in catalog if m.pluralizable}
            if merged is None:
                merged = catalog
            else:
                for message in catalog:
                    if message.id:
                        merged[message.id] = message
        if merged is None:
            continue
        buffer = BytesIO()
        write_mo(buffer, merged)
        buffer.seek(0)
        translations[locale_dir.name] = gettext.GNUTranslations(buffer)
    return _Catalogs(translations, frozenset(plural_keys))


def make_i18n() -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def choose_locale(language_code: str | None, available: tuple[str, ...]) -> str:
    """Telegram gives codes like ``en``, ``en-US``, ``pt-br``; Russian is the fallback."""
    if language_code:
        base = language_code.replace("_", "-").split("-")[0].lower()
        if base in available:
            return base
    return DEFAULT_LOCALE


def translate(
    i18n: I18n, key: str, locale: str | None = None, params: dict[str, Any] | None = None
) -> str:
    """Look a key up and fill its ``{placeholders}``; unknown placeholders stay visible.
    A key with plural forms takes the one its ``count`` needs."""
    count = (params or {}).get("count")
    if isinstance(count, int) and key in getattr(i18n, "plural_keys", ()):
        text = i18n.gettext(key, key, count, locale=locale)
    else:
        text = i18n.gettext(key, locale=locale)
    return text.format_map(_Keep(params)) if params else text


# A reason stored by the engine or an adapter: "<locale key>[<detail>]", several joined by
# "; " (e.g. "sendsay-reason-moderation: -6"); other text is shown as it is.
_REASON_KEY = re.compile(r"^([a-z]+(?:-[a-z0-9]+)+)(.*)$", re.S)


def translate_reason(i18n: I18n, text: str, locale: str | None = None) -> str:
    """``text`` with the locale key that starts each part replaced by its translation
    (plain text: escape it for HTML)."""
    parts = []
    for part in text.split("; "):
        found = _REASON_KEY.match(part)
        if found is not None:
            translated = i18n.gettext(found.group(1), locale=locale)
            if translated != found.group(1):
                part = translated + found.group(2)
        parts.append(part)
    return "; ".join(parts)


def reason_text(text: str) -> str:
    """``translate_reason`` in the current user's language."""
    return translate_reason(PoI18n.get_current(no_error=False), text)


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Raw(str):
    """A parameter that is already Telegram HTML and must not be escaped."""

    __slots__ = ()


def t(key: str, **params: Any) -> str:
    """Translate ``key`` into the current user's language (set by the i18n middleware).

    Parameters are HTML-escaped (replies use HTML parse mode) unless wrapped in ``Raw``.
    """
    safe = {k: v if isinstance(v, Raw | int) else html.escape(str(v)) for k, v in params.items()}
    return translate(PoI18n.get_current(no_error=False), key, params=safe)


def current_language() -> str:
    """The language of the update being handled (set by the i18n middleware)."""
    return PoI18n.get_current(no_error=False).current_locale


def local_time(moment: datetime, tz: tzinfo) -> str:
    """A moment in ``tz`` (the configured TIMEZONE), written the way the current user's
    language writes a date and time ("07.12.2026, 15:34"; "12/7/26, 3:34 PM")."""
    return str(format_datetime(moment, "short", tzinfo=tz, locale=current_language()))
