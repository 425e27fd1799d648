"""A template's parts converted once (``TemplateParts``) are byte for byte what converting
each letter's body gives, and whole letters are the same bytes either way."""

from __future__ import annotations

import itertools
import secrets
import time

import pytest

from domain.delivery import Message, Outbound, RunContent
from domain.mailings import Channel
from domain.personal import render_personal
from domain.recipients import AddressKind
from infrastructure.channels.smtp_message import LetterWriter
from infrastructure.rendering import JinjaRenderer, html_to_text, telegram_html_to_email_html
from infrastructure.rendering.letter_parts import TemplateParts

LONG = "Весенняя распродажа: скидки до 50 % на всё, что вы любите, и даже больше. " * 4
TEMPLATES = [
    "<b>Hello</b> {{ name }}! Our <i>news</i> of the week.",
    "{{ name }}",
    "Привет, {{ name }}!\nСкидка «весна» — 20 %\n<blockquote>{{ name }} пишет\nдальше</blockquote>"
    "<pre>{{ city }}\n  x = 1</pre>\nпосле {{ city }}",
    f"{LONG}{{{{ name }}}}{LONG}\n{{{{ city }}}} {LONG}",
    "<tg-spoiler>{{ name }}</tg-spoiler> <code>{{ name }}</code> <u>{{ city }}</u>",
    "{{ name }}{{ city }}",
    "<b>{{ name }}</b>\n\n<pre>code</pre>\n{{ name }}\n<blockquote>q</blockquote>{{ city }}",
    "Fish &amp; chips for {{ name }} &lt;3 &copy; 2026",
    "Unsubscribe: {{ unsubscribe_url }}",
    "  {{ name }}  \n",
    '<a href="https://example.org/{{ name }}">go</a> {{ name }}',
    '<a href="https://example.org">{{ name }}</a>',
    "&{{ name }}",
    "&amp{{ name }}",
    "&#12{{ name }}",
    "<b {{ name }}>x</b>",
    "<{{ name }}>",
    "{{ name|upper }} and {{ name }}",
    "{% if name %}{{ name }}{% endif %}",
    "No placeholder at all",
]
VALUES = [
    "Anna",
    "Анна Петрова",
    "",
    " lead",
    "trail ",
    "a\nb",
    "A & B",
    "<b>x</b>",
    'say "hi"',
    "O'Neil",
    "x;y",
    "amp;",
    "https://example.org/go?x=1",
    "https://example.org",
    "line\u2028sep",
    "tab\tin",
    "Ω" * 120,
    "3",
]


def converted(body: str) -> tuple[str, str]:
    return telegram_html_to_email_html(body), html_to_text(body)


@pytest.mark.parametrize("template", TEMPLATES)
def test_parts_from_the_plan_are_the_parts_of_the_body(template: str) -> None:
    plan = TemplateParts.of(template)
    renderer = JinjaRenderer()
    used = 0
    for name, city in itertools.product(VALUES, VALUES[:6]):
        values = {"name": name, "city": city}
        body = render_personal(renderer, Channel.email, template, None, values).body
        found = plan.parts(body) if plan is not None else None
        if found is not None:
            used += 1
            assert found == converted(body), (name, city)
    if plan is not None:
        assert used > 0  # the plain values take the plan


def test_the_plan_is_made_only_where_it_is_exact() -> None:
    planned = {template for template in TEMPLATES if TemplateParts.of(template) is not None}

    assert planned == set(TEMPLATES[:9])


def test_a_body_not_made_from_the_template_is_not_taken() -> None:
    plan = TemplateParts.of("<b>Hello</b> {{ name }}!")
    assert plan is not None

    assert plan.parts("<b>Hello</b> Anna!") == converted("<b>Hello</b> Anna!")
    assert plan.parts("<b>Hi</b> Anna!") is None
    assert plan.parts("<b>Hello</b> Anna &amp; Bob!") is None
    assert plan.parts("<b>Hello</b> !") is None


@pytest.mark.parametrize("template", TEMPLATES)
def test_letters_are_the_same_bytes_with_and_without_the_plan(
    template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda n: "ab" * n)
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    renderer = JinjaRenderer()
    planned = RunContent(7, "Весна", Channel.email, template, "Новости для {{ name }}")
    unplanned = RunContent(7, "Весна", Channel.email, "", "Новости для {{ name }}")
    for i, name in enumerate(VALUES):
        values = {"name": name, "city": "Tver"}
        personal = render_personal(renderer, Channel.email, template, planned.subject, values)
        outbound = Outbound(100 + i, 7, 100 + i, AddressKind.email, f"u{i}@example.org", values, 0)
        message = Message(
            outbound, personal.subject_line, personal.body, open_url=f"https://t.test/o/{i}"
        )
        for url in (f"https://u.test/{i}?t=x", None):
            with_plan = LetterWriter("Новости <news@example.org>").write(planned, message, url)
            without = LetterWriter("Новости <news@example.org>").write(unplanned, message, url)
            assert with_plan == without, name
