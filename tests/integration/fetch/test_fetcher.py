"""HttpFileFetcher against a real loopback server: downloads, limits and errors."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.errors import DomainError
from infrastructure.fetch import HttpFileFetcher
from tests.fakes.http_files import CSV_BODY, FileServer


def local(*, max_bytes: int = 10 * 1024 * 1024, timeout: float = 5.0) -> HttpFileFetcher:
    return HttpFileFetcher(max_bytes=max_bytes, timeout=timeout, allow_private=True)


async def fetch_error(fetcher: HttpFileFetcher, url: str, dest: Path) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await fetcher.fetch(url, dest)
    return caught.value


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


async def test_downloads_a_csv_named_after_the_url_path(files: FileServer, tmp_path: Path) -> None:
    source = await local().fetch(files.url("/list.csv"), tmp_path)
    assert source.filename == "list.csv"
    assert source.path.parent == tmp_path
    assert source.path.suffix == ".csv"
    assert source.path.read_bytes() == CSV_BODY


async def test_downloads_an_xlsx_that_openpyxl_can_read(files: FileServer, tmp_path: Path) -> None:
    source = await local().fetch(files.url("/table.xlsx"), tmp_path)
    assert source.filename == "table.xlsx"
    sheet = load_workbook(source.path, read_only=True).active
    assert sheet is not None
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["email", "name"],
        ["ann@example.com", "Ann"],
    ]


async def test_filename_from_content_disposition_and_content_type(
    files: FileServer, tmp_path: Path
) -> None:
    named = await local().fetch(files.url("/download"), tmp_path)
    assert named.filename == "Список.csv"
    typed = await local().fetch(files.url("/export"), tmp_path)
    assert typed.filename == "export.xlsx"
    bare = await local().fetch(files.url("/"), tmp_path)
    assert bare.filename == "download.csv"
    assert len(leftovers(tmp_path)) == 3  # three different files on disk, none overwritten


async def test_google_sheets_like_export_and_private_sheet(
    files: FileServer, tmp_path: Path
) -> None:
    sheet = await local().fetch(files.url("/spreadsheets/d/ABC/export?format=csv&gid=5"), tmp_path)
    assert sheet.filename == "Sheet - 5.csv"
    assert sheet.path.read_bytes() == CSV_BODY
    # A private sheet redirects its export link to a login page.
    error = await fetch_error(local(), files.url("/spreadsheets/d/PRIVATE/export"), tmp_path)
    assert error.key == "fetch-not-a-table"


async def test_follows_up_to_five_redirects_and_refuses_more(
    files: FileServer, tmp_path: Path
) -> None:
    source = await local().fetch(files.url("/redirect/5"), tmp_path)
    assert source.filename == "list.csv"
    assert [path for path, _ in files.requests][-1] == "/list.csv"
    error = await fetch_error(local(), files.url("/redirect/6"), tmp_path)
    assert (error.key, error.params) == ("fetch-too-many-redirects", {"limit": 5})


async def test_a_redirect_to_another_scheme_is_a_bad_url(
    files: FileServer, tmp_path: Path
) -> None:
    error = await fetch_error(local(), files.url("/redirect-to?url=ftp://x/list.csv"), tmp_path)
    assert error.key == "fetch-bad-url"


@pytest.mark.parametrize("path", ["/login", "/sneaky.csv"])
async def test_html_pages_are_not_tables(files: FileServer, tmp_path: Path, path: str) -> None:
    error = await fetch_error(local(), files.url(path), tmp_path)
    assert error.key == "fetch-not-a-table"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("status", [403, 404, 500, 503])
async def test_http_errors_carry_the_status(
    files: FileServer, tmp_path: Path, status: int
) -> None:
    error = await fetch_error(local(), files.url(f"/status/{status}"), tmp_path)
    assert (error.key, error.params) == ("fetch-http-error", {"status": status})


async def test_a_streamed_body_over_the_cap_is_cut_and_deleted(
    files: FileServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    error = await fetch_error(local(max_bytes=300_000), files.url("/huge"), tmp_path)
    assert error.key == "fetch-too-large"
    assert error.params == {"limit_mb": "0.29"}
    assert leftovers(tmp_path) == []
    assert time.monotonic() - started < 5


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    files: FileServer, tmp_path: Path
) -> None:
    error = await fetch_error(
        local(max_bytes=50 * 1024 * 1024), files.url("/huge-declared"), tmp_path
    )
    assert (error.key, error.params) == ("fetch-too-large", {"limit_mb": "50"})
    assert leftovers(tmp_path) == []


async def test_the_cap_applies_to_the_decompressed_body(files: FileServer, tmp_path: Path) -> None:
    error = await fetch_error(local(max_bytes=1024 * 1024), files.url("/gzip-bomb"), tmp_path)
    assert error.key == "fetch-too-large"
    assert leftovers(tmp_path) == []


async def test_a_slow_body_hits_the_total_timeout(files: FileServer, tmp_path: Path) -> None:
    started = time.monotonic()
    error = await fetch_error(local(timeout=0.5), files.url("/slow"), tmp_path)
    assert (error.key, error.params) == ("fetch-timeout", {"seconds": "0.5"})
    assert time.monotonic() - started < 2
    assert leftovers(tmp_path) == []


async def test_a_closed_port_is_unreachable(tmp_path: Path) -> None:
    async with FileServer() as server:
        url = server.url("/list.csv")
    error = await fetch_error(local(), url, tmp_path)
    assert (error.key, error.params) == ("fetch-unreachable", {"host": "127.0.0.1"})


async def test_a_name_that_does_not_resolve_is_unreachable(tmp_path: Path) -> None:
    async def no_such_name(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fetcher = HttpFileFetcher(resolver=no_such_name)
    error = await fetch_error(fetcher, "http://no-such-host.invalid/list.csv", tmp_path)
    assert (error.key, error.params) == ("fetch-unreachable", {"host": "no-such-host.invalid"})
