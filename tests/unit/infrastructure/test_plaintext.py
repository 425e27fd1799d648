"""Telegram HTML turned into an email's plain-text and HTML parts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from infrastructure.rendering import html_to_text, telegram_html_to_email_html


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain", "plain"),
        ("<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code>", "bold it u s c"),
        ("<strong>a</strong><em>b</em><ins>c</ins><strike>d</strike><del>e</del>", "abcde"),
        (
            "Tom &amp; Jerry &lt;3 &quot;q&quot; &#39;s&#39; &#x1F600;",
            "Tom & Jerry <3 \"q\" 's' 😀",
        ),
        ("line 1\nline 2", "line 1\nline 2"),
        ("line 1<br>line 2<br/>line 3", "line 1\nline 2\nline 3"),
        (
            '<a href="https://example.org/a?b=1&amp;c=2">site</a>',
            "site (https://example.org/a?b=1&c=2)",
        ),
        ('<a href="https://example.org">https://example.org</a>', "https://example.org"),
        ('<a href="https://example.org"><b>bold</b> link</a>', "bold link (https://example.org)"),
        ('<a href="mailto:a@b.org">a@b.org</a>', "a@b.org"),
        ('<a href="mailto:a@b.org">write</a>', "write (a@b.org)"),
        ('<a href="tg://user?id=42">Ann</a>', "Ann"),
        ("<tg-spoiler>secret</tg-spoiler>", "secret"),
        ('<span class="tg-spoiler">secret</span>', "secret"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<pre>def f():\n    return 1</pre>", "def f():\n    return 1"),
        (
            '<pre><code class="language-python">x = &lt;1&gt;\n  y</code></pre>',
            "x = <1>\n  y",
        ),
        ("before<pre>code</pre>after", "before\ncode\nafter"),
        ("before\n<pre>code</pre>\nafter", "before\ncode\nafter"),
        ("<blockquote>quoted\nsecond</blockquote>", "> quoted\n> second"),
        ("Intro:<blockquote>q</blockquote>after", "Intro:\n> q\nafter"),
        ("Intro:\n<blockquote>q</blockquote>\nafter", "Intro:\n> q\nafter"),
        ("<blockquote expandable>long\n\nquote</blockquote>", "> long\n>\n> quote"),
        (
            '<blockquote>see <a href="https://e.org">this</a></blockquote>',
            "> see this (https://e.org)",
        ),
        ("  \n padded \n ", "padded"),
        ("", ""),
    ],
)
def test_plain_text_alternative(html: str, text: str) -> None:
    assert html_to_text(html) == text


def body_of(document: str) -> str:
    match = re.search(r"<body[^>]*>\n(.*)\n</body>", document, re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("html", "body"),
    [
        ("plain", "plain"),
        ("<b>b</b><strong>s</strong><i>i</i><u>u</u><s>x</s><code>c</code>", None),
        ("line 1\nline 2", "line 1<br>\nline 2"),
        ("line 1<br>line 2", "line 1<br>\nline 2"),
        ("Tom &amp; Jerry &lt;3 &#39;s&#39;", "Tom &amp; Jerry &lt;3 's'"),
        (
            '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;">x</a>',
            '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;">x</a>',
        ),
        ('<a href="mailto:a@b.org">mail</a>', '<a href="mailto:a@b.org">mail</a>'),
        ('<a href="tg://user?id=42">Ann</a>', "Ann"),
        ('<a href="javascript:alert(1)">x</a>', "x"),
        (
            "<tg-spoiler>secret</tg-spoiler>",
            '<span style="background-color:#d9d9d9;color:#333333">secret</span>',
        ),
        (
            '<span class="tg-spoiler">secret</span>',
            '<span style="background-color:#d9d9d9;color:#333333">secret</span>',
        ),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        (
            "<pre>a\n  b</pre>",
            '<pre style="white-space:pre-wrap;font-family:monospace">a\n  b</pre>',
        ),
        (
            '<pre><code class="language-python">x</code></pre>',
            '<pre style="white-space:pre-wrap;font-family:monospace"><code>x</code></pre>',
        ),
        ('<b onclick="evil()">x</b>', "<b>x</b>"),
        ("<script>x</script><img src=x>", "x"),
        ("<b>unclosed", "<b>unclosed</b>"),
        ("stray</i> close", "stray close"),
    ],
)
def test_email_html_part(html: str, body: str | None) -> None:
    assert body_of(telegram_html_to_email_html(html)) == (html if body is None else body)


def test_quotes_keep_their_meaning_with_inline_style_and_no_blank_lines() -> None:
    body = body_of(telegram_html_to_email_html("Intro:\n<blockquote>q1\nq2</blockquote>\nafter"))
    assert body == (
        'Intro:\n<blockquote style="margin:0 0 0 4px;padding-left:10px;border-left:3px solid '
        '#cccccc">q1<br>\nq2</blockquote>after'
    )


def test_email_document_is_minimal_and_declares_utf8() -> None:
    document = telegram_html_to_email_html("Привет")
    assert document.startswith('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">')
    assert "<style" not in document  # many clients drop <style> blocks: styles are inline
    assert document.rstrip().endswith("</body>\n</html>")


class _Balance(HTMLParser):
    VOID = frozenset({"br", "meta", "img"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag


@pytest.mark.parametrize(
    "html",
    [
        "<b>a <i>b</i></b>\n<blockquote>c <tg-spoiler>d</tg-spoiler></blockquote>",
        '<a href="tg://x"><b>t</b></a> <pre><code>e</code></pre>',
        "<b><i>unclosed",
        "</b>stray closers</i>",
    ],
)
def test_email_html_is_always_well_formed(html: str) -> None:
    checker = _Balance()
    checker.feed(telegram_html_to_email_html(html))
    checker.close()
    assert checker.stack == []
