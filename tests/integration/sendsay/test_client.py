"""SendsayClient against the strict fake over HTTP: auth, REDIRECT, errors, bad answers,
tracks whose statuses come as strings."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from infrastructure.sendsay import (
    SendsayAuthError,
    SendsayClient,
    SendsayError,
    SendsayTransientError,
)
from tests.fakes.sendsay import DONE, MODERATION, NOT_MODERATED, FakeSendsay
from tests.integration.sendsay.conftest import ACCOUNT, API_KEY

HOME = f"/general/api/v100/json/{ACCOUNT}"
CLUSTER = f"/clu42/general/api/v100/json/{ACCOUNT}"


async def test_posts_json_to_the_account_url_with_the_apikey_header_only(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.add_group("vip", "Клиенты")
    answer = await client.request("group.list")
    assert answer == {
        "list": [{"id": "vip", "name": "Клиенты", "type": "list", "addr_type": "email"}]
    }
    (sent,) = fake.requests
    assert (sent.path, sent.authorization) == (HOME, f"sendsay apikey={API_KEY}")
    assert sent.body == {"action": "group.list"}  # no apikey in the body: one credential


async def test_the_fake_refuses_two_credentials_and_the_client_calls_it_an_auth_error(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    async with httpx.AsyncClient() as raw:
        both = await raw.post(
            f"{fake.base_url}/{ACCOUNT}",
            json={"action": "group.list", "apikey": API_KEY},
            headers={"Authorization": f"sendsay apikey={API_KEY}"},
        )
        body_only = await raw.post(
            f"{fake.base_url}/{ACCOUNT}", json={"action": "group.list", "apikey": API_KEY}
        )
    assert both.json()["errors"][0]["id"] == "too_many_auth_parameters"
    assert "list" in body_only.json()
    fake.fail_next("group.list", errors=[{"id": "too_many_auth_parameters"}])
    with pytest.raises(SendsayAuthError):
        await client.request("group.list")


async def test_a_redirect_is_appended_to_the_host_and_kept(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.move_to(CLUSTER)
    assert await client.request("group.list") == {"list": []}
    await client.request("anketa.list")
    assert [(r.path, r.action) for r in fake.requests] == [
        (HOME, "group.list"),
        (CLUSTER, "group.list"),
        (CLUSTER, "anketa.list"),
    ]
    assert client.url.path == CLUSTER


@pytest.mark.parametrize(
    ("base", "value", "target"),
    [
        (
            "https://api.sendsay.ru/general/api/v100/json",
            CLUSTER,
            f"https://api.sendsay.ru{CLUSTER}",
        ),
        (
            "https://api.sendsay.ru/general/api/v100/json",
            "clu1/x",
            "https://api.sendsay.ru/clu1/x",
        ),
        ("https://api.sendsay.ru/x", "https://api2.sendsay.ru/y", "https://api2.sendsay.ru/y"),
        ("http://127.0.0.1:1/x", "http://127.0.0.1:2/y", "http://127.0.0.1:2/y"),
        ("https://api.sendsay.ru/x", "http://api.sendsay.ru/y", None),  # never down to http
        ("https://api.sendsay.ru/x", "ftp://api.sendsay.ru/y", None),
    ],
)
async def test_redirect_targets(base: str, value: str, target: str | None) -> None:
    async with SendsayClient(ACCOUNT, API_KEY, base_url=base) as client:
        if target is None:
            with pytest.raises(SendsayError) as caught:
                client._redirect_target(value, "group.list")
            assert caught.value.error_id == "sendsay/bad_redirect"
        else:
            assert str(client._redirect_target(value, "group.list")) == target


async def test_a_redirect_loop_ends_with_an_error_after_ten_hops(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.redirect_forever()
    with pytest.raises(SendsayError) as caught:
        await client.request("group.list")
    assert caught.value.error_id == "sendsay/too_many_redirects"
    assert len(fake.requests) == 11  # the first try and 10 redirects


async def test_errors_are_read_before_a_redirect(fake: FakeSendsay, client: SendsayClient) -> None:
    fake.handlers["group.list"] = lambda body: {
        "errors": [{"id": "error/some"}],
        "REDIRECT": CLUSTER,
    }
    with pytest.raises(SendsayError) as caught:
        await client.request("group.list")
    assert caught.value.error_id == "error/some"
    assert len(fake.requests) == 1


async def test_a_wrong_key_is_an_auth_error_and_the_key_is_never_shown(
    fake: FakeSendsay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-key-987654321"
    async with SendsayClient(ACCOUNT, wrong, base_url=fake.base_url) as client:
        with pytest.raises(SendsayAuthError) as caught:
            await client.request("group.list")
        shown = f"{caught.value} {caught.value!r} {client!r} {caplog.text}"
    assert caught.value.error_id == "error/auth/failed" and not caught.value.expired
    assert fake.requests[0].authorization == f"sendsay apikey={wrong}"
    assert wrong not in shown
    assert "group.list" in caplog.text


async def test_an_expired_key_says_so(fake: FakeSendsay, client: SendsayClient) -> None:
    fake.expired = True
    with pytest.raises(SendsayAuthError) as caught:
        await client.request("group.list")
    assert caught.value.expired


@pytest.mark.parametrize("status", [200, 400, 401, 403])
@pytest.mark.parametrize("single", [False, True])
async def test_api_errors_carry_id_and_explain_whatever_the_http_status(
    fake: FakeSendsay, client: SendsayClient, status: int, single: bool
) -> None:
    fake.variants.error_status, fake.variants.single_error = status, single
    with pytest.raises(SendsayError) as caught:
        await client.request("member.list", group="nope")
    error = caught.value
    assert type(error) is SendsayError
    assert (error.error_id, error.explain, error.action) == (
        "group_id_not_exists",
        "nope",
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
    fake.fail_next("group.list", errors=errors, status=status, retry_after=retry_after)
    with pytest.raises(SendsayTransientError) as caught:
        await client.request("group.list")
    assert (caught.value.error_id, caught.value.retry_after) == (error_id, retry_after)
    assert await client.request("group.list") == {"list": []}  # the next try goes through


@pytest.mark.parametrize("status", [200, 502])
async def test_an_html_page_instead_of_json_is_transient(
    fake: FakeSendsay, client: SendsayClient, status: int
) -> None:
    fake.fail_next("group.list", status=status, body="<html><h1>Maintenance</h1></html>")
    with pytest.raises(SendsayTransientError) as caught:
        await client.request("group.list")
    assert caught.value.error_id in ("sendsay/not_json", f"http/{status}")
    assert "<h1>" not in str(caught.value)


async def test_a_slow_answer_is_a_transient_timeout(fake: FakeSendsay) -> None:
    fake.delay = 1.0
    async with SendsayClient(ACCOUNT, API_KEY, base_url=fake.base_url, timeout=0.2) as client:
        with pytest.raises(SendsayTransientError) as caught:
            await client.request("group.list")
    assert caught.value.error_id == "sendsay/timeout"


async def test_a_closed_port_is_a_transient_connection_error() -> None:
    async with FakeSendsay(account=ACCOUNT, api_key=API_KEY) as gone:
        base_url = gone.base_url
    async with SendsayClient(ACCOUNT, API_KEY, base_url=base_url) as client:
        with pytest.raises(SendsayTransientError) as caught:
            await client.request("group.list")
    assert caught.value.error_id == "sendsay/connection"


async def test_wait_track_polls_string_statuses_through_moderation_until_done(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    track_id = fake.add_track(["0", "2", MODERATION, "-4", DONE])
    result = await client.wait_track(track_id, poll_interval=0.01, timeout=5)
    assert result == {"id": track_id, "status": "-1"}
    assert fake.actions() == ["track.get"] * 5
    assert fake.requests[0].body == {"action": "track.get", "id": track_id}


@pytest.mark.parametrize("final", ["-2", "-3", NOT_MODERATED])
async def test_wait_track_raises_on_a_final_failure(
    fake: FakeSendsay, client: SendsayClient, final: str
) -> None:
    failed = fake.add_track(["1", final])
    with pytest.raises(SendsayError) as caught:
        await client.wait_track(failed, poll_interval=0.01)
    assert caught.value.error_id == f"track/status/{final}"


async def test_wait_track_gives_up_on_a_running_or_unknown_status_after_its_budget(
    fake: FakeSendsay, client: SendsayClient, caplog: pytest.LogCaptureFixture
) -> None:
    for statuses in (["2"], ["weird"]):
        running = fake.add_track(statuses)
        with pytest.raises(SendsayTransientError) as timed_out:
            await client.wait_track(running, poll_interval=0.02, timeout=0.1)
        assert timed_out.value.error_id == "sendsay/track_timeout"
    assert "unknown status" in caplog.text
