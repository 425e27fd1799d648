"""Members pushed by a program (the HTTP API): up to ``MAX_MEMBERS_PER_CALL`` at once,
upserted into a list in one transaction with the file importer's rules (the last
occurrence of an address wins, empty values never overwrite stored attributes).

An invalid member is rejected with its index and reason; the valid ones are stored.
A call in which no member is valid stores nothing and is refused as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_MEMBERS_PER_CALL = 10_000


@dataclass(frozen=True, slots=True)
class MemberInput:
    email: str | None = None
    telegram_id: str | None = None
    name: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RejectedMember:
    index: int  # 0-based position in the call
    reason: str  # a message key, as for file imports ("import-invalid-email")


@dataclass(slots=True)
class MembersReport:
    added: int = 0  # new members of the list
    updated: int = 0  # were members already (their attributes merged)
    suppressed: int = 0  # stored, but unsubscribed or refused: they get nothing
    rejected: list[RejectedMember] = field(default_factory=list)
