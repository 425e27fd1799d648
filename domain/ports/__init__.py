"""Ports: what the domain needs from the outside world, one module per capability.

Each module holds the ``typing.Protocol``s one group of use cases needs, named by what
they can do (``queue``, ``bulk``, ``stats``…), each narrow enough that a consumer depends
on the methods it calls and no more. Adapters in ``infrastructure`` (and the bot-facing
ones in ``bot``) implement them; one adapter class may implement several.
Every method that writes does so inside the unit of work it belongs to (``uow``) unless
its port says each call is a transaction of its own; nothing is durable until
``UnitOfWork.commit`` returns.

Import a port from its module (``from domain.ports.queue import RunSnapshots``). The names
below are re-exported for branches written before the split and will go.
"""

from __future__ import annotations

from domain.ports.answers import AnswerBook, AnswerChart
from domain.ports.audit import AuditLog
from domain.ports.bulk import BulkQueue, MassSendChannel
from domain.ports.channels import DeliveryChannel, PaidBroadcasts
from domain.ports.follow_ups import FollowUpQueue
from domain.ports.imports import ExternalListSource, RecipientImporter, RemoteFileFetcher
from domain.ports.mailings import MailingRepository, RunRepository, TemplateRepository
from domain.ports.queue import DeliveryResults, ExpiredClaims, RunSnapshots, WorkQueue
from domain.ports.recipients import (
    AddressParser,
    AddressRepository,
    Audiences,
    ListCatalogue,
    ListMembers,
)
from domain.ports.rendering import MessageRenderer
from domain.ports.retention import DeliveryRetention
from domain.ports.schedules import ScheduleCalculator, ScheduleNotifier
from domain.ports.stats import (
    ChartDrawer,
    EngagementReader,
    ReportWriter,
    ReportWriterFactory,
    StatsReader,
)
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.ports.users import AccessNotifier, UserRepository
from domain.ports.workers import WorkerRegistry, WorkSignal

__all__ = [
    "AccessNotifier",
    "AddressParser",
    "AddressRepository",
    "AnswerBook",
    "AnswerChart",
    "Audiences",
    "AuditLog",
    "BulkQueue",
    "ChartDrawer",
    "DeliveryChannel",
    "DeliveryResults",
    "DeliveryRetention",
    "EngagementReader",
    "ExpiredClaims",
    "ExternalListSource",
    "FollowUpQueue",
    "ListCatalogue",
    "ListMembers",
    "MailingRepository",
    "MassSendChannel",
    "MessageRenderer",
    "PaidBroadcasts",
    "RecipientImporter",
    "RemoteFileFetcher",
    "ReportWriter",
    "ReportWriterFactory",
    "RunRepository",
    "RunSnapshots",
    "ScheduleCalculator",
    "ScheduleNotifier",
    "StatsReader",
    "TemplateRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
    "WorkQueue",
    "WorkSignal",
    "WorkerRegistry",
]
