"""Persistence adapter: SQLAlchemy models, repositories, unit of work and migrations.

Wiring in production code::

    engine = create_engine(settings.database.url)
    uow_factory = make_uow_factory(create_session_factory(engine))
    ...
    await engine.dispose()
"""

from infrastructure.db.engine import create_engine, create_session_factory
from infrastructure.db.uow import SqlAlchemyUnitOfWork, make_uow_factory

__all__ = ["SqlAlchemyUnitOfWork", "create_engine", "create_session_factory", "make_uow_factory"]
