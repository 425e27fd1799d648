"""A link is a link whatever the case of its scheme (RFC 3986 §3.1: schemes are
case-insensitive): ``HTTP://`` in a loose message, at the import step, and in the URL
buttons of a mailing."""

from __future__ import annotations

import re

import pytest

from domain.buttons import parse_buttons
from handlers.lists_import import LINK
from infrastructure.fetch.urls import parse_link


@pytest.mark.parametrize(
    "text", ["HTTP://example.com/list.csv", "Https://Example.com/x", " hTtPs://e.x/y "]
)
def test_a_message_with_a_capital_scheme_is_a_link(text: str) -> None:
    assert re.match(LINK, text)
    assert parse_link(text).scheme in ("http", "https")


def test_url_buttons_take_a_capital_scheme_and_send_it_lower_case() -> None:
    rows = parse_buttons("Shop - HTTP://Shop.example/Sale | Help - HTTPS://t.me/help")
    assert rows == [
        [
            {"text": "Shop", "url": "http://Shop.example/Sale"},
            {"text": "Help", "url": "https://t.me/help"},
        ]
    ]
