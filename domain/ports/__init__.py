"""Ports: what the domain needs from the outside world, one module per capability.

Each module holds the ``typing.Protocol``s one group of use cases needs, named by what
they can do (``queue``, ``mass_send``, ``stats``…), each narrow enough that a consumer depends
on the methods it calls and no more. Adapters in ``infrastructure`` (and the bot-facing
ones in ``bot``) implement them; one adapter class may implement several.
Every method that writes does so inside the unit of work it belongs to (``uow``) unless
its port says each call is a transaction of its own; nothing is durable until
``UnitOfWork.commit`` returns.

Import a port from its module (``from domain.ports.queue import WorkQueue``); this package
itself exports nothing. ARCHITECTURE.md (*Ports, by consumer*) lists the modules and who
uses each port.
"""
