"""SendsayListSource: groups as lists, exported page by page into a UTF-8 CSV."""

from __future__ import annotations

import csv
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from domain.errors import DomainError
from infrastructure.sendsay import SendsayClient, SendsayListSource
from tests.fakes.sendsay import FakeSendsay, Handler
from tests.integration.sendsay.conftest import ACCOUNT

MEMBERS: list[dict[str, Any]] = [
    {"email": "ann@example.ru", "name": "Анна", "city": "Москва"},
    {"email": "bob@example.ru", "name": "Bob"},
    {"email": "cid@example.ru", "city": "Омск", "base": {"firstName": "Cid", "tags": ["a", "b"]}},
    {"email": "dan@example.ru", "name": 'Dan "the man", jr'},
    {"email": "eve@example.ru"},
]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def member_list_pages(fake: FakeSendsay) -> list[int]:
    return [r.body["page"] for r in fake.requests if r.action == "member.list"]


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def domain_error(awaitable: Awaitable[object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value


async def test_unconfigured_source_says_so(tmp_path: Path) -> None:
    source = SendsayListSource(None)
    assert source.available is False
    assert (await domain_error(source.lists())).key == "sendsay-not-configured"
    assert (await domain_error(source.export("vip", tmp_path))).key == "sendsay-not-configured"


async def test_lists_are_the_account_groups(fake: FakeSendsay, client: SendsayClient) -> None:
    fake.add_group("vip", "VIP клиенты")
    fake.add_group("all", "Everyone")
    source = SendsayListSource(client)
    assert source.available is True
    assert await source.lists() == [("vip", "VIP клиенты"), ("all", "Everyone")]
    assert fake.actions() == ["group.list"]


async def test_export_pages_through_members_into_a_csv(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP", members=MEMBERS)
    exported = await SendsayListSource(client, page_size=2).export("vip", tmp_path)
    assert exported.filename == "sendsay-vip.csv"
    assert exported.path == tmp_path / "sendsay-vip.csv"
    assert read_csv(exported.path) == [
        ["email", "name", "city", "base.firstName", "base.tags"],
        ["ann@example.ru", "Анна", "Москва", "", ""],
        ["bob@example.ru", "Bob", "", "", ""],
        ["cid@example.ru", "", "Омск", "Cid", "a, b"],
        ["dan@example.ru", 'Dan "the man", jr', "", "", ""],
        ["eve@example.ru", "", "", "", ""],
    ]
    assert exported.path.read_bytes().startswith(b"email,name,city")  # UTF-8, no BOM
    assert member_list_pages(fake) == [1, 2, 3]
    assert [r.body["pagesize"] for r in fake.requests if r.action == "member.list"] == [2, 2, 2]
    assert files_in(tmp_path) == ["sendsay-vip.csv"]  # no spool left


async def test_a_full_last_page_needs_one_empty_page_to_end(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("four", "Four", members=MEMBERS[:4])
    exported = await SendsayListSource(client, page_size=2).export("four", tmp_path)
    assert len(read_csv(exported.path)) == 5
    assert member_list_pages(fake) == [1, 2, 3]


async def test_an_empty_group_gives_a_header_only(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("empty", "Empty")
    exported = await SendsayListSource(client).export("empty", tmp_path)
    assert read_csv(exported.path) == [["email"]]


async def test_export_follows_a_redirect(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP", members=MEMBERS[:1])
    fake.redirect_once_to(f"/clu7/general/api/v100/json/{ACCOUNT}")
    exported = await SendsayListSource(client).export("vip", tmp_path)
    assert read_csv(exported.path)[1][0] == "ann@example.ru"
    assert {r.path for r in fake.requests[1:]} == {f"/clu7/general/api/v100/json/{ACCOUNT}"}


async def test_an_unknown_group_is_refused_without_listing_members(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP")
    error = await domain_error(SendsayListSource(client).export("gone", tmp_path))
    assert (error.key, error.params) == ("sendsay-unknown-list", {"list": "gone"})
    assert fake.actions() == ["group.list"]


async def test_a_group_deleted_meanwhile_is_an_unknown_list(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP", members=MEMBERS)
    fake.fail_next("member.list", errors=[{"id": "error/group/not_found", "explain": "vip"}])
    error = await domain_error(SendsayListSource(client).export("vip", tmp_path))
    assert (error.key, error.params) == ("sendsay-unknown-list", {"list": "vip"})


async def test_a_wrong_key_is_auth_failed(fake: FakeSendsay, tmp_path: Path) -> None:
    async with SendsayClient(ACCOUNT, "wrong", base_url=fake.base_url) as client:
        source = SendsayListSource(client)
        assert (await domain_error(source.lists())).key == "sendsay-auth-failed"
        assert (await domain_error(source.export("vip", tmp_path))).key == "sendsay-auth-failed"


async def test_an_outage_midway_is_unavailable_and_leaves_no_file(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP", members=MEMBERS)
    source = SendsayListSource(client, page_size=2)
    fake.handlers["member.list"] = _fail_on_page(fake, 2)
    error = await domain_error(source.export("vip", tmp_path))
    assert error.key == "sendsay-unavailable"
    assert files_in(tmp_path) == []


async def test_other_errors_name_the_sendsay_error(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP", members=MEMBERS)
    fake.fail_next("member.list", errors=[{"id": "error/rights/denied", "explain": "no"}])
    error = await domain_error(SendsayListSource(client).export("vip", tmp_path))
    assert (error.key, error.params) == ("sendsay-error", {"error": "error/rights/denied"})
    assert files_in(tmp_path) == []


def _fail_on_page(fake: FakeSendsay, page: int) -> Handler:
    """member.list that answers normally, then an overload error from ``page`` on."""
    normal = fake.member_list

    def handler(body: dict[str, Any]) -> dict[str, Any]:
        if int(body["page"]) >= page:
            return {"errors": [{"id": "error/too_many_requests"}]}
        return normal(body)

    return handler
