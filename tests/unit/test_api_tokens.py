"""API token rules: secrets are random and stored as hashes, names are for people."""

from __future__ import annotations

from domain.api_tokens import (
    NAME_MAX,
    SECRET_PREFIX,
    ApiToken,
    clean_token_name,
    hash_secret,
    new_secret,
)


def test_each_secret_is_new_and_only_its_hash_is_kept() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith(SECRET_PREFIX) and len(first) > 40
    assert hash_secret(first) == hash_secret(first) != hash_secret(second)
    assert first not in hash_secret(first) and len(hash_secret(first)) == 64


def test_names_are_folded_cut_and_never_empty() -> None:
    assert clean_token_name("  my   shop ") == "my shop"
    assert clean_token_name(None) == clean_token_name("   ") == "token"
    assert len(clean_token_name("x" * 500)) == NAME_MAX


def test_a_revoked_token_is_not_active() -> None:
    from datetime import UTC, datetime

    token = ApiToken(1, "t", "h", "mf_abc")
    assert token.is_active
    token.revoked_at = datetime.now(UTC)
    assert not token.is_active
