"""Headers in both languages, files without one, attributes, and row-level rejections."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.importers.headers import Role, attribute_key, header_role
from tests.unit.importers.files import read

ALIASES = [
    (Role.email, ["email", "E-mail", "Mail", "Почта", "Эл. почта", "электронная почта"]),
    (Role.email, ["Емейл", "ИМЕЙЛ", " e_mail "]),
    (Role.telegram, ["telegram", "Telegram ID", "tg", "tg_id", "Chat ID", "chat_id"]),
    (Role.telegram, ["User ID", "Телеграм", "телеграм id", "Телеграмм"]),
    (Role.name, ["name", "Full Name", "Имя", "ФИО", "Имя Фамилия"]),
    (Role.last_name, ["Фамилия", "last name", "Surname"]),
    (Role.first_name, ["First name"]),
]


@pytest.mark.parametrize(("role", "headers"), ALIASES)
def test_headers_are_recognised_whatever_their_case_and_punctuation(
    role: Role, headers: list[str]
) -> None:
    assert {header_role(header) for header in headers} == {role}
    assert header_role("Город") is None


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Город проживания", "город_проживания"),
        ("Дата-рождения", "дата_рождения"),
        ("Company (Inc.)", "company_inc"),
        ("№ заказа", "заказа"),
        ("2024", "_2024"),
        ("for", "for_"),
        ("!!!", "column_3"),
    ],
)
def test_other_columns_become_placeholder_keys(header: str, key: str) -> None:
    assert attribute_key(header, 3) == key
    assert key.isidentifier()


def test_every_other_column_is_an_attribute_and_repeats_get_a_suffix(tmp_path: Path) -> None:
    got = read(tmp_path, "x.csv", "Email;ФИО;Город;Город;Тариф\nann@x.ru;Анна Ким;Казань;;Gold\n")
    assert got.reader.attributes == ["name", "город", "город_2", "тариф"]
    assert got.attributes() == {"name": "Анна Ким", "город": "Казань", "тариф": "Gold"}


def test_first_and_last_names_make_up_the_name(tmp_path: Path) -> None:
    got = read(tmp_path, "x.csv", "email,Имя,Фамилия\nann@x.ru,Анна,Ким\nbob@x.ru,,Смит\n")
    assert got.reader.attributes == ["name", "first_name", "last_name"]
    assert got.attributes(0) == {"name": "Анна Ким", "first_name": "Анна", "last_name": "Ким"}
    assert got.attributes(1) == {"name": "Смит", "last_name": "Смит"}


def test_a_row_with_an_email_and_a_telegram_id_gives_two_addresses(tmp_path: Path) -> None:
    got = read(tmp_path, "x.csv", "Name,Email,Telegram\nAnn,ann@x.ru,42\n")
    assert got.addresses == [("email", "ann@x.ru"), ("telegram", "42")]
    assert got.attributes(0) == got.attributes(1) == {"name": "Ann"}
    assert got.reader.kinds == {"email": 1, "telegram": 1}


def test_a_file_without_a_header_finds_the_address_column_by_content(tmp_path: Path) -> None:
    got = read(tmp_path, "x.csv", "Анна;ann@x.ru;Казань\nБорис;bob@x.ru;Омск\n")
    assert got.reader.plan.header is False
    assert got.addresses == [("email", "ann@x.ru"), ("email", "bob@x.ru")]
    assert got.reader.attributes == ["column_1", "column_3"]
    assert got.attributes(1) == {"column_1": "Борис", "column_3": "Омск"}


def test_an_unknown_header_is_skipped_and_emails_found_below_it(tmp_path: Path) -> None:
    got = read(tmp_path, "x.csv", "Клиент,Контакт\nАнна,ann@x.ru\nБорис,bob@x.ru\n")
    assert got.reader.plan.header is True
    assert got.addresses == [("email", "ann@x.ru"), ("email", "bob@x.ru")]
    assert got.reader.attributes == ["клиент"]


def test_bad_rows_are_rejected_with_their_line_and_reason(tmp_path: Path) -> None:
    content = (
        "email;telegram;name\n"  # line 1
        "ann@x.ru;;Ann\n"
        "\n"  # a blank line: skipped, not counted, yet it is line 3
        "not-an-email;;Bob\n"
        ";@carl;Carl\n"
        ";;Dan\n"
        "eve@x.ru;12ab;Eve\n"  # the email is kept, the bad id reported
    )
    got = read(tmp_path, "x.csv", content)
    assert got.addresses == [("email", "ann@x.ru"), ("email", "eve@x.ru")]
    assert got.reasons == [
        (4, "import-invalid-email"),
        (5, "import-telegram-username"),
        (6, "import-no-address"),
        (7, "import-invalid-telegram-id"),
    ]
    assert got.reader.rows == 5
    assert got.rejected.sample[0].raw == "not-an-email;;Bob"


def test_lines_count_records_so_quoted_newlines_do_not_shift_them(tmp_path: Path) -> None:
    got = read(tmp_path, "x.csv", 'email,note\na@x.ru,"two\nlines"\nbad,x\n')
    assert got.reasons == [(3, "import-invalid-email")]


def test_a_long_file_is_read_past_the_first_rows(tmp_path: Path) -> None:
    lines = "".join(f"user{i}@x.ru,{i}\n" for i in range(100))
    got = read(tmp_path, "x.csv", "email,n\n" + lines)
    assert len(got.records) == 100 and got.records[-1][:3] == (101, "email", "user99@x.ru")
