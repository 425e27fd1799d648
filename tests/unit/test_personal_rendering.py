"""One recipient's message (``domain.personal``): the values a template reads and what it
renders to, the same for the preview, a test send, each personal send and a mass send's
members. The callers are specified in their own tests (``test_preview_usecases``,
``test_mass_send_usecases``, ``tests/integration/test_workers.py``); here the rule."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.mailings import Channel
from domain.personal import (
    Personal,
    member_values,
    recipient_values,
    render_personal,
    template_keys,
)
from domain.recipients import Address, AddressKind
from domain.unsubscribe import MARK
from infrastructure.rendering.renderer import JinjaRenderer

RENDERER = JinjaRenderer()
ANN = Address(AddressKind.email, "ann@example.com", {"name": "Ann", "city": "Riga"})
CHAT = Address(AddressKind.telegram, "42", {"name": "Tom"})


def test_a_template_reads_the_attributes_and_the_address_itself() -> None:
    assert recipient_values(ANN) == {
        "name": "Ann",
        "city": "Riga",
        "address": "ann@example.com",
        "email": "ann@example.com",
    }
    assert recipient_values(CHAT) == {"name": "Tom", "address": "42"}  # no email
    own = Address(AddressKind.email, "a@x.example", {"email": "shown@x.example"})
    assert recipient_values(own)["email"] == "shown@x.example"  # an attribute wins


def test_body_and_subject_are_filled_the_body_escaped_the_subject_not() -> None:
    values = {**recipient_values(ANN), "name": "<Ann & Bob>"}
    personal = render_personal(
        RENDERER, Channel.email, "<b>Hi {{ name }}</b>", "For {{ name }}", values
    )
    assert personal == Personal("<b>Hi &lt;Ann &amp; Bob&gt;</b>", "For <Ann & Bob>")


def test_a_header_takes_the_subject_on_one_line() -> None:
    values = {"name": "Ann\r\nBcc: x@evil.example"}
    personal = render_personal(RENDERER, Channel.email, "Hi", "Hi {{ name }}", values)
    assert personal.subject == "Hi Ann\r\nBcc: x@evil.example"  # the preview warns on it
    assert personal.subject_line is not None and "\n" not in personal.subject_line
    assert render_personal(RENDERER, Channel.email, "Hi", None, {}).subject_line is None


def test_only_an_email_fills_the_unsubscribe_link_with_the_channels_mark() -> None:
    body = "Bye: {{ unsubscribe_url }}"
    assert render_personal(RENDERER, Channel.email, body, None, {}).body == f"Bye: {MARK}"
    assert render_personal(RENDERER, Channel.telegram, body, None, {}).body == "Bye: "


def test_a_blank_body_is_no_text_at_all() -> None:
    assert render_personal(RENDERER, Channel.telegram, "  \n ", None, {}).body == ""


def test_a_broken_template_is_refused_with_the_renderers_error() -> None:
    with pytest.raises(InvalidInput):
        render_personal(RENDERER, Channel.telegram, "Hi {{ name ", None, {})


def test_a_mass_send_pushes_the_text_of_each_value_the_message_reads() -> None:
    keys = template_keys(RENDERER, "Hi {{ name }} from {{ city }}", "{{ email }}")
    assert keys == {"name", "city", "email"}
    assert template_keys(RENDERER, "Hi {{ name }}", None) == {"name"}
    bare = Address(AddressKind.email, "b@example.com", {"name": None, "age": 40})
    assert member_values(ANN, keys) == {
        "city": "Riga",
        "email": "ann@example.com",
        "name": "Ann",
    }
    assert member_values(bare, ["age", "city", "name"]) == {"age": "40", "city": "", "name": ""}


def test_a_member_reads_what_a_personal_copy_would_show() -> None:
    body = "Hi {{ name }}, {{ city }}"
    pushed = member_values(ANN, template_keys(RENDERER, body, None))
    personal = render_personal(RENDERER, Channel.sendsay, body, None, recipient_values(ANN))
    assert personal.body == f"Hi {pushed['name']}, {pushed['city']}"
