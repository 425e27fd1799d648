"""SendsayClient against the fake over HTTP: auth, REDIRECT, errors, tracks."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from infrastructure.sendsay import (
    SendsayAuthError,
    SendsayClient,
    SendsayError,
    SendsayTransientError,
)
from tests.fakes.sendsay import FakeSendsay
from tests.integration.sendsay.conftest import ACCOUNT, API_KEY

HOME = f"/general/api/v100/json/{ACCOUNT}"
CLUSTER = f"/clu42/general/api/v100/json/{ACCOUNT}"


async def test_posts_json_to_the_account_url_with_the_apikey_header(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.handlers["member.set"] = lambda body: {"obj": body["obj"]}
    answer = await client.request("ping")
    saved = await client.request("member.set", email="fedor@example.ru", obj={"name": "Фёдор"})
    assert saved == {"obj": {"name": "Фёдор"}}
    assert answer == {"pong": 1}
    first, second = fake.requests
    assert (first.path, first.authorization) == (HOME, f"sendsay apikey={API_KEY}")
    assert first.body == {"action": "ping"}
    assert second.body == {
        "action": "member.set",
        "email": "fedor@example.ru",
        "obj": {"name": "Фёдор"},
    }


async def test_follows_a_redirect_and_keeps_using_it(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.redirect_once_to(CLUSTER)
    assert await client.request("ping") == {"pong": 1}
    await client.request("group.list")
    assert [(r.path, r.action) for r in fake.requests] == [
        (HOME, "ping"),
        (CLUSTER, "ping"),
        (CLUSTER, "group.list"),
    ]
    assert client.url.path == CLUSTER


async def test_follows_an_absolute_redirect(fake: FakeSendsay, client: SendsayClient) -> None:
    fake.redirect_once_to(f"http://127.0.0.1:{fake.port}{CLUSTER}")
    await client.request("ping")
    assert [r.path for r in fake.requests] == [HOME, CLUSTER]


async def test_a_redirect_loop_ends_with_an_error(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    for _ in range(20):
        fake.redirect_once_to(CLUSTER)
    with pytest.raises(SendsayError) as caught:
        await client.request("ping")
    assert caught.value.error_id == "sendsay/too_many_redirects"
    assert len(fake.requests) == 11  # the first try and 10 redirects


async def test_a_wrong_key_is_an_auth_error_and_the_key_is_never_shown(
    fake: FakeSendsay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-key-987654321"
    async with SendsayClient(ACCOUNT, wrong, base_url=fake.base_url) as client:
        with pytest.raises(SendsayAuthError) as caught:
            await client.request("group.list")
        shown = f"{caught.value} {caught.value!r} {client!r} {caplog.text}"
    assert caught.value.error_id == "error/auth/failed"
    assert fake.requests[0].authorization == f"sendsay apikey={wrong}"
    assert wrong not in shown
    assert "group.list" in caplog.text


async def test_api_errors_carry_id_and_explain(fake: FakeSendsay, client: SendsayClient) -> None:
    fake.fail_next("member.list", errors=[{"id": "error/member/bad", "explain": "why"}])
    with pytest.raises(SendsayError) as caught:
        await client.request("member.list", group="g")
    error = caught.value
    assert type(error) is SendsayError
    assert (error.error_id, error.explain, error.action) == (
        "error/member/bad",
        "why",
        "member.list",
    )


@pytest.mark.parametrize(
    ("status", "errors", "retry_after", "error_id"),
    [
        (500, None, None, "http/500"),
        (503, None, 3, "http/503"),
        (429, None, 7, "http/429"),
        (200, [{"id": "error/too_many_requests"}], 2, "error/too_many_requests"),
    ],
)
async def test_overload_and_server_errors_are_transient(
    fake: FakeSendsay,
    client: SendsayClient,
    status: int,
    errors: list[dict[str, Any]] | None,
    retry_after: float | None,
    error_id: str,
) -> None:
    fake.fail_next("ping", errors=errors, status=status, retry_after=retry_after)
    with pytest.raises(SendsayTransientError) as caught:
        await client.request("ping")
    assert (caught.value.error_id, caught.value.retry_after) == (error_id, retry_after)
    assert await client.request("ping") == {"pong": 1}  # the next try goes through


async def test_a_slow_answer_is_a_transient_timeout(fake: FakeSendsay) -> None:
    fake.delay = 1.0
    async with SendsayClient(ACCOUNT, API_KEY, base_url=fake.base_url, timeout=0.2) as client:
        with pytest.raises(SendsayTransientError) as caught:
            await client.request("ping")
    assert caught.value.error_id == "sendsay/timeout"


async def test_a_closed_port_is_a_transient_connection_error() -> None:
    async with FakeSendsay(account=ACCOUNT, api_key=API_KEY) as gone:
        base_url = gone.base_url
    async with SendsayClient(ACCOUNT, API_KEY, base_url=base_url) as client:
        with pytest.raises(SendsayTransientError) as caught:
            await client.request("ping")
    assert caught.value.error_id == "sendsay/connection"


async def test_a_non_json_answer_is_an_error(fake: FakeSendsay, client: SendsayClient) -> None:
    fake.fail_next("ping", status=200, body="<html>maintenance</html>")
    with pytest.raises(SendsayError) as caught:
        await client.request("ping")
    assert caught.value.error_id == "http/200/not_json"


async def test_wait_track_polls_until_done(fake: FakeSendsay, client: SendsayClient) -> None:
    track_id = fake.add_track([0, 2, -1])
    result = await client.wait_track(track_id, poll_interval=0.01, timeout=5)
    assert result == {"id": track_id, "status": -1}
    assert fake.actions() == ["track.get"] * 3
    assert fake.requests[0].body == {"action": "track.get", "id": track_id}


async def test_wait_track_raises_on_failure_and_on_timeout(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    failed = fake.add_track([1, -2])
    with pytest.raises(SendsayError) as caught:
        await client.wait_track(failed, poll_interval=0.01)
    assert caught.value.error_id == "track/status/-2"
    running = fake.add_track([2])
    with pytest.raises(SendsayTransientError) as timed_out:
        await client.wait_track(running, poll_interval=0.02, timeout=0.1)
    assert timed_out.value.error_id == "sendsay/track_timeout"


async def test_a_new_action_is_one_handler_in_the_fake_and_one_call_in_the_client(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    def issue_send(body: dict[str, Any]) -> dict[str, Any]:
        return {"track.id": fake.add_track([-1])}

    fake.handlers["issue.send"] = issue_send
    letter = {"subject": "Hi", "from.email": "news@example.ru", "message": {"html": "<b>Hi</b>"}}
    answer = await client.request(
        "issue.send",
        group="masssending",
        sendwhen="now",
        letter=letter,
        **{"users.list": "email\na@example.ru\n"},
    )
    assert (await client.wait_track(answer["track.id"], poll_interval=0.01))["status"] == -1
    assert fake.requests[0].body["users.list"] == "email\na@example.ru\n"
