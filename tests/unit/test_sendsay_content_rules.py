"""Content rules for Sendsay: text it would run as template code, and a link placeholder
Telegram percent-encoded (nobody would fill it in)."""

from __future__ import annotations

import pytest

from domain.content import has_encoded_link_placeholder, runs_as_sendsay_code


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        (("Sale [% 50 %]",), True),
        (("Hi", "up to 50%]"), True),
        (("[%",), True),
        (("50% off [today]", "{{ name }}"), False),
    ],
)
def test_text_with_a_sendsay_template_marker_would_run_as_code(
    texts: tuple[str, ...], code: bool
) -> None:
    assert runs_as_sendsay_code(*texts) is code


@pytest.mark.parametrize(
    ("body", "encoded"),
    [
        ('<a href="https://x.ru/?id=%7B%7B%20id%20%7D%7D">go</a>', True),
        ("<a href='https://x.ru/%7b%7bid%7d%7d'>go</a>", True),
        ('<a href="{{ url }}">go</a>', False),
        ("Plain %7B%7B text outside a link", False),
    ],
)
def test_an_encoded_placeholder_in_a_link_is_found(body: str, encoded: bool) -> None:
    assert has_encoded_link_placeholder(body) is encoded
