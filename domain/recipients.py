"""Addresses (reachable endpoints) and recipient lists."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class AddressKind(enum.StrEnum):
    email = "email"
    telegram = "telegram"
    webhook = "webhook"


class ListSourceKind(enum.StrEnum):
    manual = "manual"
    file = "file"
    url = "url"
    sendsay = "sendsay"
    subscribers = "subscribers"


@dataclass(slots=True)
class Address:
    kind: AddressKind
    value: str
    attributes: dict[str, Any] = field(default_factory=dict)
    unsubscribed_at: datetime | None = None
    refused_at: datetime | None = None
    subscribed_at: datetime | None = None  # pressed /start in the bot
    id: int | None = None
    created_at: datetime | None = None

    @property
    def is_suppressed(self) -> bool:
        return self.unsubscribed_at is not None or self.refused_at is not None


@dataclass(slots=True)
class RecipientList:
    name: str
    owner_id: int
    source_kind: ListSourceKind = ListSourceKind.manual
    source_ref: str | None = None
    fields: list[str] = field(default_factory=list)  # the attribute keys members have
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListSize:
    """How many members a list has per address kind, and how many are suppressed."""

    email: int = 0
    telegram: int = 0
    webhook: int = 0
    suppressed: int = 0

    @property
    def total(self) -> int:
        return self.email + self.telegram + self.webhook


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a mailing on some channel would reach in some lists (deduplicated)."""

    reachable: int  # distinct addresses of the channel's kinds, not suppressed
    suppressed: int  # of those kinds, but unsubscribed or refused: left out
    other_kinds: int  # members the channel cannot reach (e.g. Telegram ids for email)
    first: Address | None  # the first reachable recipient, for the preview
