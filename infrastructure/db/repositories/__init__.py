"""SQLAlchemy implementations of the repository ports in ``domain.ports``."""

from infrastructure.db.repositories.addresses import SqlAddressRepository
from infrastructure.db.repositories.audit import SqlAuditLog
from infrastructure.db.repositories.lists import SqlRecipientListRepository
from infrastructure.db.repositories.mailings import SqlMailingRepository
from infrastructure.db.repositories.runs import SqlRunRepository
from infrastructure.db.repositories.stats import SqlStatsReader
from infrastructure.db.repositories.templates import SqlTemplateRepository
from infrastructure.db.repositories.users import SqlUserRepository

__all__ = [
    "SqlAddressRepository",
    "SqlAuditLog",
    "SqlMailingRepository",
    "SqlRecipientListRepository",
    "SqlRunRepository",
    "SqlStatsReader",
    "SqlTemplateRepository",
    "SqlUserRepository",
]
