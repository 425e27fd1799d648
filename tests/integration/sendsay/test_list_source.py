"""SendsayListSource: groups as lists, exported page by page into a UTF-8 CSV with the
members' fields (``member.list`` asks for them: without datakeys Sendsay may return the
addresses only)."""

from __future__ import annotations

import csv
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from domain.errors import DomainError
from infrastructure.sendsay import SendsayClient, SendsayListSource
from tests.fakes.sendsay import FakeSendsay, Handler, Variants
from tests.integration.sendsay.conftest import ACCOUNT, API_KEY

MEMBERS: list[dict[str, Any]] = [
    {"email": "ann@example.ru", "crm.name": "Анна", "crm.city": "Москва"},
    {"email": "bob@example.ru", "crm.name": "Bob"},
    {"email": "cid@example.ru", "crm.city": "Омск", "base.firstName": "Cid"},
    {"email": "dan@example.ru", "crm.name": 'Dan "the man", jr'},
    {"email": "eve@example.ru"},
]


@pytest.fixture(autouse=True)
def anketas(fake: FakeSendsay) -> None:
    fake.add_anketa("crm", "CRM", ["name", "city"])
    fake.add_anketa("base", "Base", ["firstName"])


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
        ["email", "name", "city", "firstName"],
        ["ann@example.ru", "Анна", "Москва", ""],
        ["bob@example.ru", "Bob", "", ""],
        ["cid@example.ru", "", "Омск", "Cid"],
        ["dan@example.ru", 'Dan "the man", jr', "", ""],
        ["eve@example.ru", "", "", ""],
    ]
    assert exported.path.read_bytes().startswith(b"email,name,city")  # UTF-8, no BOM
    assert member_list_pages(fake) == [1, 2, 3]
    asked = [r.body for r in fake.requests if r.action == "member.list"]
    assert [body["pagesize"] for body in asked] == [2, 2, 2]
    assert {tuple(body["datakey"]) for body in asked} == {("member.email", "crm", "base")}
    assert files_in(tmp_path) == ["sendsay-vip.csv"]  # no spool left


@pytest.mark.parametrize("rows", ["nested", "flat", "ordered"])
async def test_every_plausible_row_shape_gives_the_same_csv(rows: str, tmp_path: Path) -> None:
    async with FakeSendsay(account=ACCOUNT, api_key=API_KEY) as fake:
        fake.variants = Variants(member_rows=rows)
        fake.add_anketa("crm", "CRM", ["name", "city"])
        fake.add_group("vip", "VIP", members=MEMBERS[:2])
        async with SendsayClient(ACCOUNT, API_KEY, base_url=fake.base_url) as client:
            exported = await SendsayListSource(client).export("vip", tmp_path)
    table = read_csv(exported.path)
    assert table[0][0] == "email" and set(table[0]) == {"email", "name", "city"}
    named = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert named[0] == {"email": "ann@example.ru", "name": "Анна", "city": "Москва"}


async def test_without_anketas_to_name_it_asks_for_every_field(
    fake: FakeSendsay, client: SendsayClient, tmp_path: Path
) -> None:
    fake.add_group("vip", "VIP", members=MEMBERS[:1])
    fake.fail_next("anketa.list", errors=[{"id": "error/rights"}])
    exported = await SendsayListSource(client).export("vip", tmp_path)
    assert read_csv(exported.path)[1] == ["ann@example.ru", "Анна", "Москва"]
    (asked,) = [r.body for r in fake.requests if r.action == "member.list"]
    assert asked["datakey"] == ["member.email", "*"]


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
    fake.move_to(f"/clu7/general/api/v100/json/{ACCOUNT}")
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

    def deleted(body: dict[str, Any]) -> dict[str, Any]:
        fake.groups.pop("vip")
        return fake.member_list(body)

    fake.handlers["member.list"] = deleted
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
