"""Addresses: emails as email-validator normalises them (lowercased), Telegram chat ids."""

from __future__ import annotations

import random

import pytest

from domain.errors import InvalidInput
from domain.recipients import AddressKind
from infrastructure.importers.validation import (
    TextAddressParser,
    classify,
    normalize_email,
    parse_telegram_id,
    reference_normalize_email,
)

CURATED = [
    "ivan@mail.ru",
    "Ivan.Petrov@Mail.RU",
    "a+tag@gmail.com",
    "o'brien@example.org",
    "x_y-z@sub.example.co.uk",
    "INFO@Example.com",
    "Postmaster@example.com",
    "a--b@example.com",
    "a@ab--cd.com",
    "a@xn--80a.ru",
    "a@xn--d1acufc.xn--p1ai",
    "a@xn--bad.com",
    "user@почта.рф",
    "USER@ПОЧТА.РФ",
    "иван@почта.рф",
    "a@b.test",
    "a@b.local",
    "a@localhost",
    "a@b.onion",
    "a@b.arpa",
    "a@b.invalid",
    "a@b.testing",
    "a@b.c1",
    "a@1.2.3.4",
    "a@[1.2.3.4]",
    "a@b",
    "a@b.",
    "a@.b.com",
    "a@b..com",
    "a@-b.com",
    "a@b-.com",
    "a.@b.com",
    ".a@b.com",
    "a..b@c.com",
    "@b.com",
    "a@",
    "a@@b.com",
    '"a b"@example.com',
    "Ivan <ivan@example.com>",
    "ivan@example.com>",
    "a b@example.com",
    "a@exa mple.com",
    "a@example.com\u00a0",
    "ivan@ex\u0430mple.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a" * 240 + "@example.com",
    "a" * 242 + "@example.com",
    "a" * 230 + "@почта.рф",
    "a" * 245 + "@почта.рф",
    "a@" + ".".join(["b" * 60] * 4) + ".com",
    "a@ＥＸＡＭＰＬＥ.com",
    "",
    "@",
]
# Mostly plausible parts with now and then a character that breaks them.
LOCAL_CHARS = "aBcXyZ019._-+'!#$%&*/=?^`{|}~" + 'ё"\\ '
DOMAIN_CHARS = "abcXYZ019-" + "жЁ.-_ \u0301"
TLDS = ["com", "RU", "рф", "test", "c0", "", "co.uk", "xn--p1ai", "local"]


def fuzz(count: int) -> list[str]:
    rng = random.Random(20261126)

    def part(chars: str, plain: str, size: int) -> str:
        return "".join(rng.choice(chars if rng.random() < 0.15 else plain) for _ in range(size))

    samples = []
    for _ in range(count):
        local = part(LOCAL_CHARS, "abcXYZ019.", rng.randint(0, 12))
        labels = [part(DOMAIN_CHARS, "abcXYZ019", rng.randint(0, 8)) for _ in range(2)]
        samples.append(f"{local}@{'.'.join(labels)}.{rng.choice(TLDS)}")
    return samples


@pytest.mark.parametrize("text", CURATED)
def test_the_fast_paths_agree_with_email_validator_on_edge_cases(text: str) -> None:
    assert normalize_email(text) == reference_normalize_email(text)


def test_the_fast_paths_agree_with_email_validator_on_a_random_sample() -> None:
    sample = fuzz(5000)
    results = {text: normalize_email(text) for text in sample}
    assert {t: r for t, r in results.items() if r != reference_normalize_email(t)} == {}
    valid = sum(result is not None for result in results.values())
    assert 500 < valid < len(results) - 500  # both outcomes are well represented


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ivan.Petrov@Mail.RU", "ivan.petrov@mail.ru"),
        ("USER@ПОЧТА.РФ", "user@почта.рф"),
        ("a@xn--d1acufc.xn--p1ai", "a@домен.рф"),
    ],
)
def test_emails_are_stored_lowercased_with_unicode_domains(text: str, expected: str) -> None:
    assert normalize_email(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123456789", "123456789"),
        ("-1001234567890", "-1001234567890"),
        ("123456789.0", "123456789"),
        ("0", None),
        ("+79161234567", None),
        ("12 34", None),
        ("1e9", None),
        ("@ivan", None),
        ("9" * 20, None),
    ],
)
def test_telegram_ids_are_integers(text: str, expected: str | None) -> None:
    assert parse_telegram_id(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ivan@mail.ru", (AddressKind.email, "ivan@mail.ru")),
        ("42", (AddressKind.telegram, "42")),
        ("@ivan_petrov", "import-telegram-username"),
        ("https://t.me/ivan_petrov", "import-telegram-username"),
        ("ivan@", "import-invalid-email"),
        ("+7 916 123-45-67", "import-invalid-telegram-id"),
        ("Иван Петров", "import-invalid-address"),
        ("", "import-no-address"),
    ],
)
def test_a_value_of_unknown_kind_is_classified(
    text: str, expected: tuple[AddressKind, str] | str
) -> None:
    assert classify(text) == expected


def test_the_chat_parser_raises_the_reason_key() -> None:
    parser = TextAddressParser()
    assert parser.parse("  Ann@Example.com ") == (AddressKind.email, "ann@example.com")
    with pytest.raises(InvalidInput) as raised:
        parser.parse("@ann")
    assert raised.value.key == "import-telegram-username"
