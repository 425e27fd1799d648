"""Letters written by LetterWriter read back as the same message with the standard
library's parser (the modern policy a mail client behaves like)."""

from __future__ import annotations

import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from domain.delivery import Message, Outbound, RunContent
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.smtp_message import LetterWriter

RUN = RunContent(7, "Spring news", Channel.email, "", "Fallback subject")


def letter(
    body: str,
    subject: str | None = None,
    name: str = "",
    to: str = "ann@example.org",
    sender: str = "Новости <news@example.org>",
    url: str | None = "https://u.example.org/1",
) -> tuple[EmailMessage, str]:
    outbound = Outbound(11, 3, 5, AddressKind.email, to, {"name": name}, 0)
    raw, message_id = LetterWriter(sender).write(RUN, Message(outbound, subject, body), url)
    parsed = message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed, message_id


def test_cyrillic_subject_name_and_body_read_back_unchanged() -> None:
    body = "<b>Здравствуйте</b>, Анна!\nСкидка «весна» — 20 %"
    mail, message_id = letter(body, subject="Весенние новости для Анны", name="Анна Петрова")

    assert mail["Subject"] == "Весенние новости для Анны"
    assert mail["To"].addresses[0].display_name == "Анна Петрова"
    assert mail["To"].addresses[0].addr_spec == "ann@example.org"
    assert mail["From"].addresses[0].display_name == "Новости"
    assert mail["Message-ID"] == message_id and message_id.endswith("@example.org>")
    assert mail["List-Unsubscribe"] == "<https://u.example.org/1>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = (part.get_content() for part in mail.iter_parts())
    assert plain.strip() == "Здравствуйте, Анна!\nСкидка «весна» — 20 %"
    assert "<b>Здравствуйте</b>, Анна!<br>" in html


def test_long_lines_are_wrapped_for_transport_and_come_back_whole() -> None:
    subject = "A very long subject line " * 8
    body = "word " * 400 + "end"  # one 2,000-character line
    mail, _ = letter(body, subject=subject.strip())
    raw = mail.as_bytes()

    assert max(len(line) for line in raw.splitlines()) <= 998
    assert str(mail["Subject"]) == subject.strip()
    plain = next(mail.iter_parts()).get_content()
    assert plain.strip() == body


def test_a_rendered_subject_or_name_cannot_add_headers() -> None:
    mail, _ = letter("Hi", subject="Hi\nBcc: all@example.org", name="Eve\r\nX-Evil: 1")

    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert "Bcc: all@example.org" in str(mail["Subject"])


def test_the_run_name_is_the_subject_when_there_is_none_and_no_link_no_header() -> None:
    mail, _ = letter("Hi", url=None)

    assert mail["Subject"] == "Fallback subject"
    assert mail["List-Unsubscribe"] is None


def test_an_internationalised_domain_goes_in_its_ascii_form() -> None:
    mail, _ = letter("Hi", to="ivan@пример.рф")

    assert mail["To"].addresses[0].domain == "xn--e1afmkfd.xn--p1ai"


def test_a_quoted_display_name_keeps_its_punctuation() -> None:
    mail, _ = letter("Hi", name='Smith, John "JJ"')

    assert mail["To"].addresses[0].display_name == 'Smith, John "JJ"'


def test_a_non_ascii_mailbox_name_is_refused() -> None:
    with pytest.raises(ValueError, match="SMTPUTF8"):
        letter("Hi", to="иван@example.org")


def test_every_letter_has_its_own_message_id_naming_run_and_delivery_and_a_date() -> None:
    first, first_id = letter("Hi")
    second, second_id = letter("Hi")  # the same delivery written again (a retry)

    assert first_id != second_id
    assert first_id.startswith("<3.11.") and second_id.startswith("<3.11.")
    assert first["Message-ID"] == first_id and second["Message-ID"] == second_id
    assert first["Date"].datetime.tzinfo is not None
    assert abs(first["Date"].datetime.timestamp() - time.time()) < 5
