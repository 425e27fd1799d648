"""A team for use-case unit tests on the in-memory unit of work: an admin, a manager,
another manager (whose mailings, lists and runs the first must never touch), someone the
bot knows without a role, and a manager whose role was revoked; and a clock that moves
only when told."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

ADMIN, MANAGER, OTHER, STRANGER, REVOKED = 1, 2, 3, 4, 5
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def team_database() -> MemoryDatabase:
    return MemoryDatabase(
        users=[
            User(ADMIN, role=Role.admin),
            User(MANAGER, role=Role.manager),
            User(OTHER, role=Role.manager),
            User(STRANGER),
            User(REVOKED, role=Role.manager, is_active=False),
        ]
    )


class StillClock:
    """``domain.clock.Clock`` at ``at``, which the test moves."""

    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
