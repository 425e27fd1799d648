"""Lists and members over HTTP: the bot's rules, all-or-nothing writes, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import ADMIN
from tests.integration.api.conftest import MANAGER, OTHER, ApiHarness, assert_problem, start_api


async def _members(api: ApiHarness, list_id: int) -> dict[str, dict[str, object]]:
    async with api.bot.app.db.uow_factory() as uow:
        page = await uow.members.members(list_id, 0, 100, None)
    return {a.value: a.attributes for a in page.items}


async def test_a_list_is_made_read_renamed_and_deleted(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    made = await http.post("/lists", json={"name": "  Shop   buyers "})
    assert made.status_code == 201, made.text
    rlist = made.json()
    assert rlist["name"] == "Shop buyers" and rlist["owner_id"] == MANAGER
    assert rlist["members"] == 0
    list_id = rlist["id"]
    assert (await http.get(f"/lists/{list_id}")).json() == rlist
    assert [x["id"] for x in (await http.get("/lists")).json()] == [list_id]
    renamed = await http.patch(f"/lists/{list_id}", json={"name": "Buyers"})
    assert renamed.json()["name"] == "Buyers"
    assert_problem(await http.post("/lists", json={"name": "Buyers"}), 409, "lists-name-taken")
    assert (await http.delete(f"/lists/{list_id}")).status_code == 204
    assert_problem(await http.get(f"/lists/{list_id}"), 404, "lists-not-found")


async def test_only_the_owner_or_an_admin_renames_or_deletes_a_list(api: ApiHarness) -> None:
    owner, other = await api.as_user(MANAGER), await api.as_user(OTHER)
    admin = api.client(await api.token(ADMIN, role=None))
    list_id = (await owner.post("/lists", json={"name": "Mine"})).json()["id"]
    # Lists are shared by the team, as in the bot: others may read them and add members.
    assert (await other.get(f"/lists/{list_id}")).status_code == 200
    pushed = await other.post(f"/lists/{list_id}/members", json={"members": [{"email": "a@x.io"}]})
    assert pushed.status_code == 200
    assert_problem(await other.patch(f"/lists/{list_id}", json={"name": "Theirs"}), 403)
    assert_problem(await other.delete(f"/lists/{list_id}"), 403, "lists-not-owner")
    assert (await owner.get(f"/lists/{list_id}")).json()["name"] == "Mine"
    assert (await admin.patch(f"/lists/{list_id}", json={"name": "Admin's"})).status_code == 200
    assert (await admin.delete(f"/lists/{list_id}")).status_code == 204


async def test_members_are_upserted_with_their_fields(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    list_id = (await http.post("/lists", json={"name": "CRM"})).json()["id"]
    first = await http.post(
        f"/lists/{list_id}/members",
        json={
            "members": [
                {
                    "email": "Ann@Example.com",
                    "name": "Ann",
                    "fields": {"City": "Omsk", "vip": True},
                },
                {"telegram_id": 424242, "name": "Bob"},
                {"email": "not-an-email"},
                {"name": "nobody"},
            ]
        },
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["added"], body["updated"]) == (2, 0)
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (2, "import-invalid-email"),
        (3, "import-no-address"),
    ]
    assert all(r["message"] for r in body["rejected"])
    again = await http.post(
        f"/lists/{list_id}/members",
        json={"members": [{"email": "ann@example.com", "fields": {"city": "Tomsk"}}]},
    )
    assert (again.json()["added"], again.json()["updated"]) == (0, 1)
    stored = await _members(api, list_id)
    assert stored["ann@example.com"] == {"name": "Ann", "city": "Tomsk", "vip": "true"}
    assert stored["424242"] == {"name": "Bob"}
    assert (await http.get(f"/lists/{list_id}")).json()["members"] == 2

    removed = await http.delete(f"/lists/{list_id}/members/ann@example.com")
    assert removed.status_code == 204
    gone = await http.delete(f"/lists/{list_id}/members/ann@example.com")
    assert_problem(gone, 404, "members-not-a-member")
    assert list(await _members(api, list_id)) == ["424242"]


async def test_bad_member_calls_store_nothing(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    list_id = (await http.post("/lists", json={"name": "Bad"})).json()["id"]
    url = f"/lists/{list_id}/members"

    none_valid = await http.post(url, json={"members": [{"email": "x"}, {"telegram_id": "@bob"}]})
    body = assert_problem(none_valid, 422, "members-all-invalid")
    assert [r["reason"] for r in body["rejected"]] == [
        "import-invalid-email",
        "import-telegram-username",
    ]
    too_many = [{"email": f"u{i}@example.com"} for i in range(10_001)]
    over = assert_problem(await http.post(url, json={"members": too_many}), 422)
    assert over["errors"][0]["field"] == "body.members"
    wrong_type = await http.post(url, json={"members": [{"email": "a@b.io", "fields": [1]}]})
    assert assert_problem(wrong_type, 422)["errors"][0]["field"] == "body.members.0.fields"
    broken = await http.post(
        url, content=b'{"members": [', headers={"Content-Type": "application/json"}
    )
    assert_problem(broken, 400, "api-invalid-json")
    assert_problem(
        await http.post("/lists/999999/members", json={"members": [{"email": "a@b.io"}]}), 404
    )
    assert await _members(api, list_id) == {}


async def test_a_file_is_imported_with_the_bots_report(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    list_id = (await http.post("/lists", json={"name": "File"})).json()["id"]
    csv = "email,name\nann@example.com,Ann\nbroken,Bob\n"
    answer = await http.post(
        f"/lists/{list_id}/import", files={"file": ("people.csv", csv.encode(), "text/csv")}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows"], report["added"], report["invalid"]) == (2, 1, 1)
    assert report["rejected_sample"][0]["line"] == 3
    assert report["rejected_sample"][0]["reason"] == "import-invalid-email"
    bad = await http.post(
        f"/lists/{list_id}/import", files={"file": ("bad.csv", b"email\nnope\n", "text/csv")}
    )
    assert assert_problem(bad, 422, "import-all-invalid")["report"]["invalid"] == 1
    assert list(await _members(api, list_id)) == ["ann@example.com"]


@pytest.fixture
async def small_api(database_url: str) -> AsyncIterator[ApiHarness]:
    async for harness in start_api(database_url, api_body_max_bytes=2000):
        yield harness


async def test_a_streamed_body_over_the_limit_is_refused_and_nothing_stored(
    small_api: ApiHarness,
) -> None:
    http = await small_api.as_user(MANAGER)
    list_id = (await http.post("/lists", json={"name": "Big"})).json()["id"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"members": ['
        for i in range(200):
            yield b'{"email": "u%d@example.com"},' % i
        yield b'{"email": "last@example.com"}]}'

    answer = await http.post(
        f"/lists/{list_id}/members", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(answer, 413, "api-body-too-large")
    assert await _members(small_api, list_id) == {}
