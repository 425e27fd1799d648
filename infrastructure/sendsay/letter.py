"""Sendsay letters: ``letter`` objects for ``issue.send`` and MailForge templates in
Sendsay's template language (PROScript, sendsay-docs ``docs/proscript/*``).

- A plain ``{{ key }}`` becomes ``[% anketa.mailforge.key %]``: the value the member
  carries in our anketa ``mailforge`` (quest ``key``); ``member.import`` writes it under the
  datakey ``mailforge.key`` (no ``anketa.`` prefix there: SENDSAY.md).
- Sendsay HTML-escapes such values in HTML letters (confirmed), so values are pushed as
  they are. Whether it escapes them in the subject and the text part is unknown.
- Sendsay runs whatever sits between ``[%`` and ``%]``: a manager's text containing either
  marker is refused (``has_code``), and rendered text sent as is (personal sends) has the
  markers broken up (``defused``) so that a recipient's data can never run as code.
- A link whose address starts with a placeholder (``<a href="{{ url }}">``) stays a link:
  Sendsay fills the address in per member (``link_ok``).
"""

from __future__ import annotations

import re
from typing import Any

from infrastructure.rendering import html_to_text, telegram_html_to_email_html
from infrastructure.rendering.email_html import is_web_link

ANKETA = "mailforge"  # where member data for personalisation is kept (we create it)
ANKETA_NAME = "MailForge"
CODE_MARKERS = ("[%", "%]")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_LEADING_PLACEHOLDER = re.compile(r"^\s*\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]|[%}]\}")
_UNSAFE_LINK = re.compile(r"^\s*(javascript|vbscript|data)\s*:", re.I)


def to_sendsay(template: str) -> str:
    """``{{ key }}`` → ``[% anketa.mailforge.key %]``."""
    return _PLACEHOLDER.sub(lambda m: f"[% anketa.{ANKETA}.{m.group(1)} %]", template)


def placeholders(*texts: str) -> set[str]:
    """The keys of the plain ``{{ key }}`` placeholders in ``texts``."""
    return {m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text)}


def link_keys(html: str) -> set[str]:
    """Keys whose value is the start of a link's address (``href="{{ url }}…"``)."""
    hrefs = re.findall(r"""href\s*=\s*["']\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)""", html)
    return set(hrefs)


def only_plain_placeholders(*texts: str) -> bool:
    """Whether every placeholder is a plain ``{{ key }}`` (no filters, no logic)."""
    return not any(_TEMPLATE_SYNTAX.search(_PLACEHOLDER.sub("", text)) for text in texts)


def has_code(*texts: str) -> bool:
    """Whether a text would run as Sendsay template code (``[%`` or ``%]`` in it)."""
    return any(marker in text for text in texts for marker in CODE_MARKERS)


def defused(text: str, *, html: bool) -> str:
    """``text`` with ``[%`` and ``%]`` broken up so that Sendsay shows them: an HTML entity
    in HTML, a zero-width space in plain text."""
    if html:
        return text.replace("[%", "[&#37;").replace("%]", "&#37;]")
    return text.replace("[%", "[\u200b%").replace("%]", "%\u200b]")


def link_value(value: str) -> str:
    """A member's value used as a link's address: a script link is dropped."""
    return "" if _UNSAFE_LINK.match(value) else value


def link_ok(href: str) -> bool:
    return is_web_link(href) or _LEADING_PLACEHOLDER.match(href) is not None


def template_letter(subject: str, body: str, from_name: str, from_email: str) -> dict[str, Any]:
    """The letter of a mass send: our templates in PROScript (links with placeholders kept)."""
    html = to_sendsay(telegram_html_to_email_html(body, link_ok=link_ok))
    text = to_sendsay(html_to_text(body))
    return _letter(to_sendsay(subject), html, text, from_name, from_email)


def rendered_letter(subject: str, body: str, from_name: str, from_email: str) -> dict[str, Any]:
    """The letter of a personal send: already rendered for its recipient, markers defused."""
    html = defused(telegram_html_to_email_html(body), html=True)
    text = defused(html_to_text(body), html=False)
    return _letter(defused(subject, html=False), html, text, from_name, from_email)


def _letter(subject: str, html: str, text: str, from_name: str, from_email: str) -> dict[str, Any]:
    letter: dict[str, Any] = {
        "subject": subject,
        "from.email": from_email,
        "message": {"html": html, "text": text},
    }
    if from_name:
        letter["from.name"] = from_name
    return letter
