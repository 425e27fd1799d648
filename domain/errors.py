"""Domain errors.

Every error carries a message *key* and parameters instead of a sentence: the
handlers translate the key into the user's language (see ``handlers/locales``).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    key: str = "error-generic"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key, params)


class NotFound(DomainError):
    key = "error-not-found"


class AccessDenied(DomainError):
    key = "error-access-denied"


class IllegalTransition(DomainError):
    key = "error-illegal-transition"


class InvalidInput(DomainError):
    key = "error-invalid-input"


class LastAdminError(DomainError):
    key = "error-last-admin"


class Conflict(DomainError):
    key = "error-conflict"


class Unauthenticated(DomainError):
    """No valid credentials (an API token unknown, revoked, or its owner without a role)."""

    key = "error-unauthenticated"
