"""The admin's /sendsay answer (``handlers.sendsay_admin.check_text``) for each thing the
account check can find: which setting to look at, never the key, and an unreachable API
not called a bad key. The adapter's findings are in
``tests/integration/sendsay/test_account_check.py``; one check through the chat in
``tests/e2e/test_sendsay_admin.py``."""

from __future__ import annotations

import pytest

from domain.account_check import AccountCheck
from handlers.i18n import make_i18n
from handlers.sendsay_admin import check_text

I18N = make_i18n()
ENDPOINT = "https://api.sendsay.ru/general/api/v100/json/acme"


def text(check: AccountCheck, locale: str = "en") -> str:
    with I18N.context(), I18N.use_locale(locale):
        return check_text(check)


@pytest.mark.parametrize(
    ("problem", "told"),
    [
        ("sendsay-reason-auth: error/auth/failed", "check SENDSAY_ACCOUNT and SENDSAY_API_KEY"),
        ("sendsay-reason-key-expired: error/auth/failed", "API key has expired"),
    ],
)
def test_a_wrong_or_expired_key_says_what_to_do(problem: str, told: str) -> None:
    said = text(AccountCheck("acme", ENDPOINT, key_works=False, problem=problem))
    assert (
        "account <code>acme</code>" in said
        and "❌ The API key does not work" in said
        and told in said
    )
    assert "Lists in the account" not in said and "sendsay-" not in said


def test_an_unreachable_api_is_not_called_a_bad_key() -> None:
    down = AccountCheck(
        "acme", ENDPOINT, key_works=False, reached=False, problem="sendsay-reason-garbled"
    )
    said = text(down)
    assert "Sendsay did not answer" in said and "does not work" not in said


def test_a_working_key_counts_lists_and_names_the_sender_in_either_language() -> None:
    check = AccountCheck("acme", ENDPOINT, key_works=True, lists=2, sender="news@acme.example")
    english, russian = text(check), text(check, "ru")
    assert "✅ The API key works." in english and "Lists in the account: 2" in english
    assert "news@acme.example" in english and "no read-only check" in english
    assert "API-ключ работает" in russian and "Списков в аккаунте: 2" in russian
