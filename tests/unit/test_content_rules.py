"""Telegram HTML as the Bot API documents it (https://core.telegram.org/bots/api#html-style):
the supported tags, balanced, links with an address, every other ``<`` escaped; lengths
counted as Telegram counts them (UTF-16 code units of the visible text)."""

from __future__ import annotations

import pytest

from domain.content import ALLOWED_TAGS, check_html, one_line, visible_length, visible_text


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "<b>bold</b>, <strong>bold</strong>, <i>it</i>, <em>it</em>, <u>u</u>, <ins>u</ins>",
        '<s>s</s> <strike>s</strike> <del>s</del> <span class="tg-spoiler">x</span>',
        '<tg-spoiler>x</tg-spoiler> <a href="https://example.com/?a=1&amp;b=2">link</a>',
        '<a href="tg://user?id=123456789">mention</a>',
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        '<code>x</code> <pre><code class="language-python">print(1)</code></pre>',
        "<blockquote>quoted <b>and <i>nested</i></b></blockquote>",
        "1 &lt; 2 &amp;&amp; 3 &gt; 2, &quot;quoted&quot;",
        "Hello {{ name }}",
    ],
)
def test_what_the_bot_api_accepts_passes(text: str) -> None:
    assert check_html(text) is None


@pytest.mark.parametrize(
    ("text", "key", "detail"),
    [
        ("<div>block</div>", "content-html-unknown-tag", "div"),
        ("line<br/>break", "content-html-unknown-tag", "br"),
        ("<b>open", "content-html-unbalanced", "b"),
        ("<b><i>crossed</b></i>", "content-html-unbalanced", "b"),
        ("closed</i>", "content-html-unbalanced", "i"),
        ("<a>no address</a>", "content-html-link-without-href", "a"),
        ("1 < 2", "content-html-stray-bracket", "<"),
        ("I <3 you", "content-html-stray-bracket", "<"),
    ],
)
def test_what_the_bot_api_refuses_is_named(text: str, key: str, detail: str) -> None:
    problem = check_html(text)
    assert problem is not None and (problem.key, problem.detail) == (key, detail)


def test_the_first_problem_is_the_one_reported() -> None:
    problem = check_html("<div><b>x</div>")
    assert problem is not None and problem.key == "content-html-unknown-tag"


def test_only_the_documented_tags_are_allowed() -> None:
    assert {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"} <= ALLOWED_TAGS
    assert not {"div", "p", "br", "img", "script", "h1"} & ALLOWED_TAGS


def test_length_counts_what_the_recipient_sees_in_utf16_units() -> None:
    assert visible_text('<b>Hi</b> <a href="https://x.y">there</a> &amp; you') == "Hi there & you"
    assert visible_length("<b>Hi</b>") == 2
    assert visible_length("&lt;3") == 2
    assert visible_length("😀") == 2  # outside the BMP: a surrogate pair, as Telegram counts
    assert visible_length("привет") == 6


def test_a_subject_stays_on_one_line_whatever_the_line_break() -> None:
    assert one_line("Hi\r\nBcc: everyone\u2028and\x0bmore") == "Hi Bcc: everyone and more"
