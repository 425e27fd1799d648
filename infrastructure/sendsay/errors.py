"""Sendsay API errors, sorted by what the caller should do about them.

A Sendsay answer with problems carries ``"errors": [{"id": "error/…", "explain": …}]``
(older answers: a single ``"error"`` object) — confirmed by Sendsay's own API clients
(sendsay-ru/sendsay-api-python, sendsay-api-js). ``error/auth/failed`` is confirmed;
the other ids matched below are assumptions, documented where they are used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

AUTH_PREFIX = "error/auth/"
# Assumed ids: we could not confirm Sendsay's rate-limit / overload error ids, so any id
# mentioning one of these words is treated as temporary (retry later), not as permanent.
TRANSIENT_MARKERS = (
    "too_many",
    "toomany",
    "rate_limit",
    "ratelimit",
    "busy",
    "temporar",
    "overload",
)
NOT_FOUND_MARKERS = ("not_found", "notfound", "not_exists", "not.exists", "not.found")
# "exist" negated: ``group_id_not_exists``, ``not.exist``, ``nonexistent``, ``doesnt_exist``…
_NEGATED_EXIST = re.compile(r"(?<![a-z])(?:not|non|no|doesnt|dont|isnt)[._\- ]?exist")


def means_already_exists(error_id: str) -> bool:
    """Whether ``error_id`` says the thing is already there (``error/group/exists``,
    ``…/already_exists``), never when it says it is missing (``group_id_not_exists``).

    Assumed: Sendsay's ids for "already exists" were not confirmed; any id with ``exist``
    that is not negated counts. The one place such a check is made.
    """
    text = error_id.lower()
    return "exist" in text and _NEGATED_EXIST.search(text) is None


class SendsayError(Exception):
    """A request Sendsay refused: ``error_id`` (e.g. ``error/group/not_found``) and why."""

    def __init__(self, error_id: str, explain: Any = None, *, action: str | None = None) -> None:
        self.error_id = error_id
        self.explain = explain
        self.action = action
        detail = f": {explain}" if explain not in (None, "") else ""
        super().__init__(f"{action or 'sendsay'}: {error_id}{detail}")

    @property
    def is_not_found(self) -> bool:
        return any(marker in self.error_id for marker in NOT_FOUND_MARKERS)

    @property
    def already_exists(self) -> bool:
        return means_already_exists(self.error_id)


class SendsayAuthError(SendsayError):
    """Wrong account or API key, or the key lacks rights. Permanent: fix the settings."""


class SendsayTransientError(SendsayError):
    """Rate limit, overload, 5xx, timeout or a broken connection: try again later."""

    def __init__(
        self,
        error_id: str,
        explain: Any = None,
        *,
        action: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(error_id, explain, action=action)
        self.retry_after = retry_after


def error_from_answer(
    errors: Sequence[Any], *, action: str, retry_after: float | None = None
) -> SendsayError:
    """The exception for the first error of an answer, by kind."""
    first: Mapping[str, Any] = {}
    if errors:
        first = errors[0] if isinstance(errors[0], Mapping) else {"id": str(errors[0])}
    error_id = str(first.get("id", "error/unknown"))
    explain = first.get("explain")
    # "auth" anywhere: a third-party client reports "too_many_auth_parameters" when a key
    # and a session are both sent; it is a configuration problem, not a rate limit.
    if error_id.startswith(AUTH_PREFIX) or "auth" in error_id:
        return SendsayAuthError(error_id, explain, action=action)
    if any(marker in error_id for marker in TRANSIENT_MARKERS):
        return SendsayTransientError(error_id, explain, action=action, retry_after=retry_after)
    return SendsayError(error_id, explain, action=action)
