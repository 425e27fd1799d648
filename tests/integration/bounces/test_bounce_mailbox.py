"""The bounce mailbox end to end: a real IMAP server (pymap) on loopback, fed with
real-world bounces (Postfix, Exim, Gmail, Yandex, Mail.ru, an ARF complaint, an
auto-reply, a malformed message, a forged token), read by the real reader over IMAP."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import aioimaplib
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.bounces import BounceKind
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import RunTotals
from domain.usecases.bounces import apply_bounce
from infrastructure.bounces import BounceClassifier
from infrastructure.bounces.imap import ImapBounceReader, Mailbox
from tests.fakes.imap_server import ImapServer
from tests.integration.bounces.helpers import (
    RECIPIENTS,
    VERP,
    address_state,
    delivered_run,
    delivery_state,
    sample,
    table,
)
from tests.integration.db.test_queue import T0, totals

USER, PASSWORD = "bounces", "mailbox-secret"


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    with ImapServer(USER, PASSWORD) as server:
        yield server


def mailbox(server: ImapServer, password: str = PASSWORD) -> Mailbox:
    return Mailbox.from_url(f"imap://{USER}:{password}@127.0.0.1:{server.port}/INBOX")


def reader(server: ImapServer, uow_factory: UnitOfWorkFactory, **kw: str) -> ImapBounceReader:
    classifier = BounceClassifier(VERP)

    async def handle(raw: bytes) -> BounceKind:
        report = classifier.classify(raw)
        return (await apply_bounce(uow_factory, report, T0, soft_limit=3)).kind

    return ImapBounceReader(mailbox(server, **kw), handle, timeout=10)


async def deliver_to_mailbox(server: ImapServer, messages: list[bytes]) -> None:
    """What the MTA does: the messages land in the mailbox (IMAP APPEND)."""
    client = aioimaplib.IMAP4(host="127.0.0.1", port=server.port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(USER, PASSWORD)).result == "OK"
    for raw in messages:
        assert (await client.append(raw, mailbox="INBOX")).result == "OK"
    await client.logout()


async def forget_marks(server: ImapServer) -> None:
    """As if the reader had died after recording and before marking: nothing marked."""
    client = aioimaplib.IMAP4(host="127.0.0.1", port=server.port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(USER, PASSWORD)
    await client.select("INBOX")
    assert (await client.uid("store", "1:*", "-FLAGS.SILENT", "(\\Seen)")).result == "OK"
    await client.logout()


async def test_each_real_world_bounce_ends_with_its_status_and_nothing_counts_twice(
    imap: ImapServer, uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    run_id, ids = await delivered_run(uow_factory, db_engine, sorted(set(RECIPIENTS.values())))
    messages = [sample(name, ids[value]) for name, value in RECIPIENTS.items()]
    messages.append(sample("forged_token.eml", None))
    messages.append(sample("postfix_user_unknown.eml", 987_654_321))  # genuine, no such delivery
    await deliver_to_mailbox(imap, messages)

    first = reader(imap, uow_factory)
    assert await first.poll() == 10
    assert first.status.state == "ok" and first.status.last_success is not None
    assert first.status.by_kind == {
        "hard": 3, "soft": 2, "complaint": 1, "not_bounce": 1, "malformed": 1, "unknown": 2,
    }  # fmt: skip

    deliveries = await delivery_state(db_engine, run_id)
    people = await address_state(db_engine)
    for value in ("olga.smirnova@corp-example.ru", "pavel@shop-example.com"):
        assert deliveries[ids[value]]["status"] == "refused"
        assert people[value]["refused_at"] is not None
    yandex = deliveries[ids["dmitry.kuznetsov@yandex.ru"]]
    assert yandex["status"] == "refused" and "No such user" in yandex["last_error"]
    assert "5.1.1" in deliveries[ids["olga.smirnova@corp-example.ru"]]["last_error"]
    for value in ("maria.ivanova@gmail.com", "anna.volkova@mail.ru"):  # soft: kept, counted
        assert deliveries[ids[value]]["status"] == "delivered"
        assert deliveries[ids[value]]["last_error"].startswith("soft bounce:")
        assert people[value]["soft_bounces"] == 1 and people[value]["refused_at"] is None
    complainer = people["sergey.popov@mail.ru"]
    assert complainer["unsubscribed_at"] is not None and complainer["refused_at"] is None
    elena = people["elena.morozova@corp-example.ru"]
    assert elena["refused_at"] is None and elena["unsubscribed_at"] is None
    assert deliveries[ids["elena.morozova@corp-example.ru"]]["status"] == "delivered"
    # The run's counts moved from delivered to refused: "of which bounced later".
    assert await totals(uow_factory, run_id) == RunTotals(delivered=4, refused=3)
    tracked = await table(db_engine, "SELECT * FROM run_tracking WHERE run_id = :r", r=run_id)
    assert (tracked[0]["bounced"], tracked[0]["soft_bounced"], tracked[0]["complained"]) == (
        3, 2, 1,
    )  # fmt: skip

    # A restart: a new reader finds nothing new.
    assert await reader(imap, uow_factory).poll() == 0
    # A crash between recording and marking: everything is read again, nothing counted.
    await forget_marks(imap)
    again = reader(imap, uow_factory)
    assert await again.poll() == 10
    assert await totals(uow_factory, run_id) == RunTotals(delivered=4, refused=3)
    assert (await address_state(db_engine))["anna.volkova@mail.ru"]["soft_bounces"] == 1
    assert await table(db_engine, "SELECT * FROM run_tracking WHERE run_id = :r", r=run_id) == (
        tracked
    )
    assert len(await table(db_engine, "SELECT id FROM bounces")) == 10


async def test_a_refused_login_or_a_dead_server_is_a_state_not_a_crash(
    imap: ImapServer, uow_factory: UnitOfWorkFactory
) -> None:
    refused = reader(imap, uow_factory, password="wrong")
    assert await refused.poll() == 0
    assert refused.status.state == "login refused" and refused.status.last_poll is not None
    assert refused.status.last_success is None
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = ImapBounceReader(
        Mailbox("127.0.0.1", port, USER, PASSWORD, tls=False), refused._handle, timeout=5
    )
    assert await gone.poll() == 0
    assert gone.status.state == "unreachable"
    assert PASSWORD not in str(gone.status.as_json()) and "127.0.0.1" not in str(
        gone.status.as_json()
    )
