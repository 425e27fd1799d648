"""Pure parts of the fetcher: link checks, the Google Sheets rewrite, addresses, names."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from domain.errors import DomainError
from infrastructure.fetch import google_sheets_export_url, is_forbidden, parse_link
from infrastructure.fetch.naming import XLSX_TYPE, choose_filename

SHEET = "1AbC-dEf_123"
EXPORT = f"https://docs.google.com/spreadsheets/d/{SHEET}/export"


def rewrite(url: str) -> str:
    return str(google_sheets_export_url(parse_link(url)))


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            f"https://docs.google.com/spreadsheets/d/{SHEET}/edit#gid=42",
            f"{EXPORT}?format=csv&gid=42",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{SHEET}/edit?usp=sharing",
            f"{EXPORT}?format=csv",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{SHEET}/edit?gid=7#gid=7",
            f"{EXPORT}?format=csv&gid=7",
        ),
        (f"https://docs.google.com/spreadsheets/d/{SHEET}/view", f"{EXPORT}?format=csv"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET}", f"{EXPORT}?format=csv"),
        (
            f"https://docs.google.com/spreadsheets/u/0/d/{SHEET}/edit#gid=3",
            f"{EXPORT}?format=csv&gid=3",
        ),
        (f"http://docs.google.com/spreadsheets/d/{SHEET}/edit", f"{EXPORT}?format=csv"),
    ],
)
def test_google_sheets_page_links_become_csv_export_links(link: str, expected: str) -> None:
    assert rewrite(link) == expected


@pytest.mark.parametrize(
    "link",
    [
        f"{EXPORT}?format=csv&gid=42",
        f"{EXPORT}?format=xlsx",
        "https://docs.google.com/spreadsheets/d/e/2PACX-abc/pubhtml",
        "https://docs.google.com/document/d/abc/edit",
        f"https://example.com/spreadsheets/d/{SHEET}/edit",
    ],
)
def test_other_links_are_left_alone(link: str) -> None:
    assert rewrite(link) == link


@pytest.mark.parametrize(
    "link",
    [
        "ftp://example.com/list.csv",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:secret@example.com/list.csv",
        "https://good.example@evil.example/list.csv",
        "http:///list.csv",
        "not a url",
        "",
    ],
)
def test_bad_links_are_refused(link: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_link(link)
    assert caught.value.key == "fetch-bad-url"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2a00:1450:4001:80b::200e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("disposition", "path", "content_type", "expected"),
    [
        ('attachment; filename="list.csv"', "/x", "text/csv", "list.csv"),
        (
            "attachment; filename*=UTF-8''%D0%A1%D0%BF%D0%B8%D1%81%D0%BE%D0%BA.csv",
            "/",
            "",
            "Список.csv",
        ),
        ('attachment; filename="../../etc/passwd.csv"', "/", "text/csv", "passwd.csv"),
        ('attachment; filename="C:\\\\temp\\\\evil.xlsx"', "/", "", "evil.xlsx"),
        (None, "/files/Clients%20May.xlsx", "", "Clients May.xlsx"),
        (None, "/export", "text/csv; charset=utf-8", "export.csv"),
        (None, "/", XLSX_TYPE, "download.xlsx"),
        (None, "/", "application/octet-stream", "download"),
    ],
)
def test_filename_comes_from_disposition_then_path_then_type(
    disposition: str | None, path: str, content_type: str, expected: str
) -> None:
    assert choose_filename(disposition, path, content_type) == expected


def test_ipv6_literal_link_keeps_its_host() -> None:
    assert parse_link("http://[::1]:8080/a.csv").host == "::1"
    assert isinstance(parse_link("https://example.com/a.csv"), httpx.URL)
