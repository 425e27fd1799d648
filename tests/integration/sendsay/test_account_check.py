"""SendsayAccountCheck (behind the admin's /sendsay): read-only calls only, a refused key
reported with its reason, the lists counted, the assumptions listed."""

from __future__ import annotations

from infrastructure.sendsay import SendsayClient
from infrastructure.sendsay.check import ASSUMPTIONS, SendsayAccountCheck
from tests.fakes.sendsay import FakeSendsay
from tests.integration.sendsay.conftest import ACCOUNT

SENDER = "News <news@acme.example>"


async def test_a_working_key_counts_the_lists_with_read_only_calls(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.add_group("vip", "VIP")
    fake.add_group("all", "All")
    fake.move_to(f"/clu3/general/api/v100/json/{ACCOUNT}")

    check = await SendsayAccountCheck(client, sender=SENDER).check()

    assert check.key_works and check.problem is None
    assert (check.account, check.lists, check.sender) == (ACCOUNT, 2, SENDER)
    assert check.endpoint.endswith(f"/clu3/general/api/v100/json/{ACCOUNT}")
    assert check.sender_confirmed is None  # no documented read-only way to tell
    assert check.assumptions == ASSUMPTIONS
    assert set(fake.actions()) == {"group.list"}


async def test_a_wrong_or_expired_key_is_reported_with_its_reason(fake: FakeSendsay) -> None:
    async with SendsayClient(ACCOUNT, "wrong", base_url=fake.base_url) as client:
        wrong = await SendsayAccountCheck(client, sender=SENDER).check()
    fake.expired = True
    async with SendsayClient(ACCOUNT, fake.api_key, base_url=fake.base_url) as client:
        expired = await SendsayAccountCheck(client, sender=SENDER).check()
    fake.expired = False
    fake.fail_next("group.list", status=503)
    async with SendsayClient(ACCOUNT, fake.api_key, base_url=fake.base_url) as client:
        down = await SendsayAccountCheck(client, sender=SENDER).check()

    assert not wrong.key_works and wrong.problem == "sendsay-reason-auth: error/auth/failed"
    assert expired.problem == "sendsay-reason-key-expired: error/auth/failed"
    assert down.problem is not None and down.problem.startswith("sendsay-reason-unavailable")
    assert (wrong.reached, expired.reached, down.reached) == (True, True, False)
    assert wrong.lists is None
