"""Mailings over HTTP: the whole journey, idempotent launch, pause/resume/cancel, test
send, and the permission matrix (another manager's mailing is a 404 on every endpoint)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.e2e.conftest import ADMIN
from tests.integration.api.conftest import MANAGER, OTHER, ApiHarness, assert_problem

READERS = [910_001, 910_002, 910_003]


async def _mailing(http: httpx.AsyncClient, chats: list[int], name: str = "Sale") -> int:
    list_id = (await http.post("/lists", json={"name": f"{name} list"})).json()["id"]
    members = [{"telegram_id": chat, "name": f"Reader {chat}"} for chat in chats]
    pushed = await http.post(f"/lists/{list_id}/members", json={"members": members})
    assert pushed.json()["added"] == len(chats)
    made = await http.post(
        "/mailings",
        json={
            "name": name,
            "channel": "telegram",
            "text": "Hello, {{ name }}! <b>-20%</b> today.",
            "list_ids": [list_id],
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    return int(made.json()["id"])


async def _finished(http: httpx.AsyncClient, run_id: int, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        run: dict[str, Any] = (await http.get(f"/runs/{run_id}")).json()
        if run["status"] in ("completed", "cancelled", "failed"):
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.2)


async def test_the_journey_from_list_to_delivered_run(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    mailing_id = await _mailing(http, READERS)
    check = (await http.post(f"/mailings/{mailing_id}/preview")).json()
    assert check["can_launch"] and check["reachable"] == 3
    assert "Reader 910001" in check["text"]  # rendered for the first recipient

    launched = await http.post(f"/mailings/{mailing_id}/launch")
    assert launched.status_code == 201, launched.text
    run = await _finished(http, launched.json()["id"])
    assert run["status"] == "completed"
    assert run["totals"] == {"total": 3, "pending": 0, "delivered": 3, "failed": 0, "refused": 0}
    received = api.bot.api.messages(READERS[1])
    assert any("Reader 910002" in (m.text or "") for m in received)
    runs = (await http.get(f"/mailings/{mailing_id}/runs")).json()
    assert [r["id"] for r in runs] == [run["id"]]
    assert (await http.get(f"/mailings/{mailing_id}")).json()["status"] == "completed"


async def test_a_repeated_idempotency_key_returns_the_same_run(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    first_id, second_id = await _mailing(http, READERS[:1]), await _mailing(http, [910_009], "B")
    key = {"Idempotency-Key": "order-7731"}
    answers = await asyncio.gather(
        *(http.post(f"/mailings/{first_id}/launch", headers=key) for _ in range(3))
    )
    made = [a for a in answers if a.status_code == 201]
    assert len(made) == 1, [a.text for a in answers]
    run_id = made[0].json()["id"]
    for answer in answers:
        assert answer.status_code == 201 or answer.status_code in (200, 409), answer.text
        if answer.status_code == 200:
            assert answer.json()["id"] == run_id
    again = await http.post(f"/mailings/{first_id}/launch", headers=key)
    assert again.status_code == 200 and again.json()["id"] == run_id
    reused = await http.post(f"/mailings/{second_id}/launch", headers=key)
    assert_problem(reused, 422, "api-idempotency-key-reused")
    assert len((await http.get(f"/mailings/{first_id}/runs")).json()) == 1
    assert (await http.get(f"/mailings/{second_id}/runs")).json() == []


async def test_a_launch_without_recipients_is_refused_and_starts_nothing(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    made = await http.post(
        "/mailings", json={"name": "Empty", "channel": "telegram", "text": "Hi"}
    )
    mailing_id = made.json()["id"]
    refused = await http.post(f"/mailings/{mailing_id}/launch", headers={"Idempotency-Key": "k1"})
    body = assert_problem(refused, 422, "launch-blocked")
    assert body["reason"] == "preview-no-lists" and "preview" in body["detail"]
    assert (await http.get(f"/mailings/{mailing_id}/runs")).json() == []
    assert (await http.get(f"/mailings/{mailing_id}")).json()["status"] == "draft"


async def test_bad_mailing_input_stores_nothing(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    other = await api.as_user(OTHER)
    their_list = (await other.post("/lists", json={"name": "Theirs"})).json()["id"]
    wrong_channel = await http.post(
        "/mailings", json={"name": "X", "channel": "pigeon", "text": "Hi"}
    )
    assert assert_problem(wrong_channel, 422)["errors"][0]["field"] == "body.channel"
    unknown_list = await http.post(
        "/mailings", json={"name": "X", "channel": "telegram", "text": "Hi", "list_ids": [99999]}
    )
    assert_problem(unknown_list, 404, "lists-not-found")
    assert (await http.get("/mailings")).json() == {"items": [], "next_cursor": None}
    # Lists are shared by the team in the bot, so another manager's list may be targeted.
    shared = await http.post(
        "/mailings",
        json={"name": "Y", "channel": "telegram", "text": "Hi", "list_ids": [their_list]},
    )
    assert shared.status_code == 201


async def test_url_buttons_follow_the_bots_rules_and_reach_the_message(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    mailing_id = await _mailing(http, READERS[:1], "Buttons")
    shop = {"text": "Shop", "url": "https://shop.example/sale"}
    set_ = await http.patch(
        f"/mailings/{mailing_id}",
        json={"buttons": [[{"text": " Shop ", "url": "HTTPS://shop.example/sale"}]]},
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["buttons"] == [[shop]]  # stored as the dialog stores typed ones
    assert set_.json()["text"].startswith("Hello")  # the rest as it was

    bad = await http.patch(
        f"/mailings/{mailing_id}",
        json={"buttons": [[shop], [{"text": "Run", "url": "javascript:alert(1)"}]]},
    )
    assert "2" in assert_problem(bad, 422, "dialog-buttons-invalid")["detail"]
    too_many = await http.patch(f"/mailings/{mailing_id}", json={"buttons": [[shop] * 5]})
    assert_problem(too_many, 422, "dialog-buttons-too-many")
    wrong_type = await http.patch(f"/mailings/{mailing_id}", json={"buttons": [shop]})
    assert assert_problem(wrong_type, 422)["errors"][0]["field"].startswith("body.buttons")
    assert (await http.get(f"/mailings/{mailing_id}")).json()["buttons"] == [[shop]]

    launched = await http.post(f"/mailings/{mailing_id}/launch")
    assert (await _finished(http, launched.json()["id"]))["status"] == "completed"
    [message] = api.bot.api.messages(READERS[0])
    assert message.reply_markup is not None
    [[sent]] = message.reply_markup["inline_keyboard"]
    assert sent["text"] == "Shop"
    assert "/c/" in sent["url"]  # tracking is on here: the button goes through the redirect

    made = await http.post(
        "/mailings",
        json={"name": "Z", "channel": "telegram", "text": "Hi", "buttons": [[shop] * 5]},
    )
    assert_problem(made, 422, "dialog-buttons-too-many")
    assert [m["name"] for m in (await http.get("/mailings")).json()["items"]] == ["Buttons"]
    cleared = await http.post(
        "/mailings", json={"name": "Z", "channel": "telegram", "text": "Hi", "buttons": []}
    )
    assert cleared.status_code == 201 and cleared.json()["buttons"] == []


async def test_pause_resume_cancel_and_test_send(api: ApiHarness) -> None:
    http = await api.as_user(MANAGER)
    mailing_id = await _mailing(http, READERS)
    assert_problem(await http.post(f"/mailings/{mailing_id}/pause"), 409, "launch-not-running")
    test = await http.post(f"/mailings/{mailing_id}/test", json={})
    assert test.status_code == 201 and test.json()["is_test"]
    tested = await _finished(http, test.json()["id"])
    assert tested["totals"]["delivered"] == 1
    assert any("Hello" in (m.text or "") for m in api.bot.api.messages(MANAGER))

    launched = (await http.post(f"/mailings/{mailing_id}/launch")).json()
    paused = await http.post(f"/mailings/{mailing_id}/pause")
    if paused.status_code == 200:  # else the run finished first: a few messages are quick
        assert paused.json()["status"] == "paused"
        resumed = await http.post(f"/mailings/{mailing_id}/resume")
        assert resumed.json()["status"] == "running"
    else:
        assert_problem(paused, 409, "launch-not-running")
    assert (await _finished(http, launched["id"]))["status"] == "completed"

    crowd = await _mailing(http, list(range(920_000, 920_060)), "Crowd")
    running = (await http.post(f"/mailings/{crowd}/launch")).json()
    if (await http.post(f"/mailings/{crowd}/pause")).status_code == 200:
        cancelled = await http.post(f"/mailings/{crowd}/cancel")  # a paused run cannot finish
        assert cancelled.json()["status"] == "cancelled"
        assert_problem(await http.post(f"/mailings/{crowd}/resume"), 409)
        assert (await _finished(http, running["id"]))["status"] == "cancelled"
    assert_problem(await http.delete(f"/mailings/{mailing_id}/nothing"), 404)
    assert (await http.delete(f"/mailings/{mailing_id}")).status_code == 204  # archived


async def test_another_managers_mailing_is_not_found_on_every_endpoint(api: ApiHarness) -> None:
    owner = await api.as_user(MANAGER)
    other = await api.as_user(OTHER)
    admin = api.client(await api.token(ADMIN, role=None))
    mailing_id = await _mailing(owner, READERS[:1])
    run_id = (await owner.post(f"/mailings/{mailing_id}/launch")).json()["id"]
    await _finished(owner, run_id)
    m = f"/mailings/{mailing_id}"
    calls = [
        ("GET", m, None),
        ("PATCH", m, {"name": "Mine now"}),
        ("POST", f"{m}/preview", None),
        ("POST", f"{m}/launch", None),
        ("POST", f"{m}/pause", None),
        ("POST", f"{m}/resume", None),
        ("POST", f"{m}/cancel", None),
        ("POST", f"{m}/test", {}),
        ("GET", f"{m}/runs", None),
        ("GET", f"/runs/{run_id}", None),
        ("DELETE", m, None),
    ]
    for method, url, body in calls:
        answer = await other.request(method, url, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert [x["id"] for x in (await other.get("/mailings")).json()["items"]] == []
    assert (await owner.get(m)).json()["name"] == "Sale"  # untouched
    assert (await admin.get(m)).status_code == 200  # an admin sees everyone's
    assert (await admin.get(f"/runs/{run_id}")).status_code == 200
