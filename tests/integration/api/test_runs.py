"""Run deliveries page by a cursor that sending cannot move; suppressions are admins'."""

from __future__ import annotations

import asyncio

from domain.recipients import AddressKind
from tests.e2e.conftest import ADMIN
from tests.integration.api.conftest import MANAGER, OTHER, ApiHarness, assert_problem
from tests.integration.api.test_mailings import _finished, _mailing

# 60 chats at the bot's 30 a second: a 2-s run (120 took 4 s), read 4 at a time, a page
# every 0.1 s or more: the statuses change under the first half of the pages at least.
CROWD = list(range(930_000, 930_060))


async def test_deliveries_page_stably_while_the_run_sends(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    mailing_id = await _mailing(http, CROWD)
    run_id = (await http.post(f"/mailings/{mailing_id}/launch")).json()["id"]
    seen: list[int] = []
    cursor = None
    while True:  # one slow reader over the whole run: statuses change under it, ids do not
        params: dict[str, str | int] = {"limit": 4}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await http.get(f"/runs/{run_id}/deliveries", params=params)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await asyncio.sleep(0.1)
    assert seen == sorted(set(seen)) and len(seen) == len(CROWD)  # none twice, none lost
    run = await _finished(http, run_id)
    assert run["totals"]["delivered"] == len(CROWD)
    delivered = await http.get(
        f"/runs/{run_id}/deliveries", params={"status": "delivered", "limit": 1000}
    )
    assert [d["id"] for d in delivered.json()["items"]] == seen
    assert {d["address"] for d in delivered.json()["items"]} == {str(c) for c in CROWD}
    assert delivered.json()["next_cursor"] is None
    failed = await http.get(f"/runs/{run_id}/deliveries", params={"status": "failed"})
    assert failed.json() == {"items": [], "next_cursor": None}
    assert_problem(await http.get(f"/runs/{run_id}/deliveries", params={"limit": 0}), 422)
    other = await api.as_user(OTHER)
    assert_problem(await other.get(f"/runs/{run_id}/deliveries"), 404, "stats-run-not-found")


async def test_suppressions_are_for_admins(api: ApiHarness) -> None:
    manager = await api.as_user(MANAGER)
    admin = api.client(await api.token(ADMIN, role=None))
    body = {"address": "Spam.Trap@Example.com"}
    assert_problem(await manager.post("/suppressions", json=body), 403, "api-admins-only")
    assert_problem(await manager.delete("/suppressions/spam.trap@example.com"), 403)

    made = await admin.post("/suppressions", json=body)
    assert made.status_code == 201 and made.json()["address"] == "spam.trap@example.com"
    assert (await admin.post("/suppressions", json=body)).json()["created"] is False
    async with api.bot.app.db.uow_factory() as uow:
        stored = await uow.addresses.find(AddressKind.email, "spam.trap@example.com")
    assert stored is not None and stored.is_suppressed
    assert (await admin.delete("/suppressions/spam.trap@example.com")).status_code == 204
    gone = await admin.delete("/suppressions/spam.trap@example.com")
    assert_problem(gone, 404, "api-not-suppressed")
