"""The bot's log output around a real email run: JSON lines with the run's start and end,
its ids and counts, and never a secret, a message body or a recipient's address."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logs import secrets_of, setup_logging
from bot.settings import load_settings
from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from tests.e2e.conftest import ADMIN, TOKEN, grant, running_bot
from tests.e2e.test_delivery import M, open_card_of
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.smtp import FakeSmtp

PASSWORD = "Sm7p-pa55-w0rd-kq93"
BODY = "Our zebra-7731 offer for {{ email }}"
READERS = ["ann@readers.test", "bob@readers.test", "gone@readers.test"]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The bot's log output; the fake relay's own protocol log (aiosmtpd's ``mail.log``, a
    stand-in for a server elsewhere) is not part of it."""
    root, relay = logging.getLogger(), logging.getLogger("mail.log")
    saved = root.handlers[:], root.level, relay.level
    relay.setLevel(logging.ERROR)
    yield io.StringIO()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    relay.setLevel(saved[2])


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_run_logs_its_start_and_end_and_nothing_secret(
    fake_api: FakeBotAPI, migrated_pg_url: str, log_output: io.StringIO
) -> None:
    async with FakeSmtp(login=("mailer", PASSWORD)) as smtp:
        overrides: dict[str, Any] = {
            "bot_token": TOKEN,
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "smtp_username": "mailer",
            "smtp_password": PASSWORD,
            "smtp_from": "News <news@example.com>",
            "log_format": "json",
        }
        # As `mailforge run` does it (bot.cli.main), into a buffer instead of stderr.
        settings = load_settings(database_url=migrated_pg_url, admin_ids=[ADMIN], **overrides)
        setup_logging(settings.log.level, secrets_of(settings), settings.log.format, log_output)
        smtp.reject("gone@readers.test", "550 5.1.1 No such user")
        async with running_bot(fake_api, migrated_pg_url, **overrides) as bot:
            await grant(bot, M)
            async with bot.app.db.uow_factory() as uow:
                rlist = await uow.lists.add(RecipientList("Mails", M))
                ids = [
                    (await uow.addresses.upsert(Address(AddressKind.email, email))).id or 0
                    for email in READERS
                ]
                await uow.members.add_members(rlist.id or 0, ids)
                mailing = await uow.mailings.add(
                    Mailing(
                        owner_id=M,
                        name="Letter",
                        channel=Channel.email,
                        subject="Zebra news",
                        body=BODY,
                        list_ids=[rlist.id or 0],
                    )
                )
                await uow.commit()
            await open_card_of(bot, mailing.id or 0, "Letter")
            bot.api.press(M, "🚀 Launch")
            await bot.api.wait_for_message(M, contains="Summary", timeout=20)
        assert smtp.logins >= 1 and len(smtp.messages) == 2  # the password was really used

    out = log_output.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]  # every line is one JSON object
    started = [x for x in lines if x["message"].startswith("Run started")]
    finished = [x for x in lines if x["message"].startswith("Run finished")]
    assert len(started) == 1 and len(finished) == 1, out
    run_id = started[0]["run_id"]
    assert started[0]["mailing_id"] == mailing.id and run_id is not None
    assert (started[0]["channel"], started[0]["recipients"]) == ("email", 3)
    end = finished[0]
    assert (end["mailing_id"], end["run_id"], end["status"]) == (mailing.id, run_id, "completed")
    assert (end["delivered"], end["refused"], end["failed"], end["not_sent"]) == (2, 1, 0, 0)
    assert end["duration_s"] >= 0

    assert PASSWORD not in out and TOKEN not in out
    assert "zebra" not in out.lower()  # neither the body nor the subject
    assert not [email for email in READERS if email in out], out
