"""``html_events`` gives exactly the events of the standard library's ``HTMLParser``
(``parsed_events``: what it calls, recorded), whether it splits the body itself
(Telegram's strict form) or hands it to the parser."""

from __future__ import annotations

import random

import pytest

from infrastructure.rendering.html_events import html_events, parsed_events, strict_events

TELEGRAM_BODIES = [
    "",
    "plain text",
    "<b>Hello</b> Reader 12! Our <i>news</i> of the week.",
    "Tom &amp; Jerry &lt;3 &quot;q&quot; &#39;s&#39; &#x1F600; AT&T",
    "<a href=\"https://example.org/a?b=1&amp;c=2\">site</a> and <a href='mailto:a@b.org'>m</a>",
    "line 1<br>line 2<br/>line 3<BR />line 4\r\nline 5",
    '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    '<pre><code class="language-python">x = &lt;1&gt;\n  y</code></pre>',
    "<blockquote expandable>long\n\nquote</blockquote>",
    '<B>upper</B> <A HREF="https://e.org">x</A> <a  href="" >empty</a >',
    "<b>unclosed",
    "stray</i> close > and a lone &",
    "ends with an entity cut short &am",
]

OTHER_BODIES = [
    "a < b",
    "<!-- comment --><b>x</b>",
    "<!DOCTYPE html><b>x</b>",
    "<?php x ?>",
    "<script>if (a < b) {}</script>",
    "<style>b > i {}</style>",
    "<textarea><b>x</b></textarea>",
    "<title>&amp;<b></title>",
    "<img src=x>",
    '<a href = "x">spaces</a>',
    '<a href="x"title="y">glued</a>',
    '<a href="x>y">gt</a>',
    "<b/ >",
    "</ b>",
    "<div><p>other tags</p></div>",
    "<a:b>ns</a:b>",
    "<b",
    "text <",
]


@pytest.mark.parametrize("html", TELEGRAM_BODIES)
def test_telegram_html_is_split_without_the_parser_into_the_same_events(html: str) -> None:
    assert strict_events(html) == parsed_events(html)


@pytest.mark.parametrize("html", OTHER_BODIES)
def test_anything_else_goes_through_the_parser(html: str) -> None:
    assert strict_events(html) is None
    assert html_events(html) == parsed_events(html)


_PIECES = [
    "<b>", "</b>", "<i>", "</i>", "<B>", "</I >", "<br>", "<br/>", "<br />", "<pre>",
    "</pre>", "<blockquote>", "<blockquote expandable>", "</blockquote>", "<tg-spoiler>",
    "</tg-spoiler>", '<span class="tg-spoiler">', "</span>", '<a href="https://e.org/?a=1&amp;b">',
    "<a href='x\"y'>", '<a href="">', '<a href="&lt;&#39;">', "</a>", "<code>", "</code>",
    '<code class="language-c">', "<p>", "</div>", "<!-- c -->", "<script>", "</script>",
    "<style>", "<textarea>", "<a href=x>", '<a href = "x">', "<", ">", "&", "&amp;", "&lt;",
    "&#39;", "&#x1F600;", "&copy", "&am", "&;", "\n", "\r\n", " ", "  ", "word", "слово",
    "AT&T", "a<b", "</", "<!", "<?", "/", "=", '"', "'",
]  # fmt: skip


def test_random_bodies_give_the_parser_s_events() -> None:
    rng = random.Random(15)
    strict = 0
    for _ in range(4000):
        html = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12)))
        assert html_events(html) == parsed_events(html), html
        strict += strict_events(html) is not None
    assert strict > 300  # the strict form was met often enough to be tested
