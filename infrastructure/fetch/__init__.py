"""Downloading recipient lists from links (CSV, XLSX, Google Sheets) safely."""

from infrastructure.fetch.addresses import Resolver, is_forbidden
from infrastructure.fetch.fetcher import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, HttpFileFetcher
from infrastructure.fetch.urls import google_sheets_export_url, parse_link

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "HttpFileFetcher",
    "Resolver",
    "google_sheets_export_url",
    "is_forbidden",
    "parse_link",
]
