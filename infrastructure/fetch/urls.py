"""Checking a link a manager pasted, and turning Google Sheets page links into CSV exports."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import httpx

from domain.errors import DomainError

ALLOWED_SCHEMES = ("http", "https")
GOOGLE_DOCS_HOST = "docs.google.com"

# /spreadsheets/d/<id>[/edit|/view|...] and the account-scoped /spreadsheets/u/0/d/<id>.
# "/d/e/<id>" (published to the web) is a different id space and is left alone.
_SHEET_PATH = re.compile(
    r"^/spreadsheets/(?:u/\d+/)?d/(?!e/)(?P<id>[A-Za-z0-9_-]+)"
    r"(?:/(?:edit|view|htmlview|preview|copy)?)?/?$"
)
_GID = re.compile(r"(?:^|[&#?])gid=(?P<gid>\d+)")


def parse_link(url: str) -> httpx.URL:
    """Parse and validate a link: http(s) only, a host, no credentials."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise DomainError("fetch-bad-url") from error
    if parsed.scheme not in ALLOWED_SCHEMES or not parsed.host:
        raise DomainError("fetch-bad-url")
    # "https://user:pass@host/" could smuggle secrets into logs or confuse a reader about
    # which host is really contacted ("https://good.example@evil.example/").
    if parsed.userinfo:
        raise DomainError("fetch-bad-url")
    return parsed


def google_sheets_export_url(url: httpx.URL) -> httpx.URL:
    """``…/spreadsheets/d/<id>/edit#gid=<gid>`` → ``…/d/<id>/export?format=csv&gid=<gid>``.

    Links that are not a Sheets page (an export link included) come back unchanged.
    Without a ``gid`` Google exports the first sheet.
    """
    if url.host != GOOGLE_DOCS_HOST:
        return url
    match = _SHEET_PATH.match(url.path)
    if match is None:
        return url
    gid = _find_gid(url)
    params = {"format": "csv"} | ({"gid": gid} if gid is not None else {})
    return httpx.URL(
        scheme="https",
        host=GOOGLE_DOCS_HOST,
        path=f"/spreadsheets/d/{match['id']}/export",
        params=params,
    )


def _find_gid(url: httpx.URL) -> str | None:
    # The sheet tab is in the fragment when copied from the address bar (#gid=…),
    # and sometimes in the query (?gid=… from "share" links).
    values = parse_qs(url.query.decode("ascii", "replace")).get("gid")
    if values and values[0].isdigit():
        return values[0]
    match = _GID.search(url.fragment)
    return match["gid"] if match else None
