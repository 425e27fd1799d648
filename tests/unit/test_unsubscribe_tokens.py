"""Unsubscribe tokens: genuine ones name their address; anything altered is refused."""

from __future__ import annotations

import pytest

from domain.unsubscribe import make_token, read_token

KEY = b"k" * 32


def test_a_token_names_its_address() -> None:
    assert read_token(KEY, make_token(KEY, 12345)) == 12345


def test_tokens_differ_per_address_and_per_key() -> None:
    assert make_token(KEY, 1) != make_token(KEY, 2)
    assert make_token(KEY, 1) != make_token(b"other", 1)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "abc",
        "MTIz.",
        ".c2ln",
        "MTIz.AAAAAAAAAAAAAAAAAAAAAA",
        "!!!.???",
        "MA." + make_token(KEY, 0).split(".")[1],
        "x" * 200,
    ],
)
def test_malformed_or_forged_tokens_are_refused(token: str) -> None:
    assert read_token(KEY, token) is None


def test_a_token_with_another_addresses_payload_is_refused() -> None:
    mine, theirs = make_token(KEY, 7), make_token(KEY, 8)
    spliced = theirs.split(".")[0] + "." + mine.split(".")[1]
    assert read_token(KEY, spliced) is None
    assert read_token(b"wrong key", mine) is None
