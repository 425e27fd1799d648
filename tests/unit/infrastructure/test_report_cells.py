"""Exports never hand a spreadsheet a formula: the same escaping in CSV and XLSX."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.stats import ExportFormat, ExportRow
from infrastructure.reports import open_report_writer
from infrastructure.reports.cells import clean_cell, escape_cell

DANGEROUS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]
# Control characters XLSX cannot hold: removing them must not uncover a formula.
HIDDEN = ['\x01=HYPERLINK("http://evil.example","click")', "\x00\x1f@SUM(A1:A2)", "\x0b+1+2"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_a_cell_that_would_run_as_a_formula_is_prefixed_with_a_quote(value: str) -> None:
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", HIDDEN)
def test_control_characters_do_not_hide_a_formula(value: str) -> None:
    assert escape_cell(value) == "'" + value
    assert clean_cell(value) == "'" + value.lstrip("\x00\x01\x0b\x1f")


async def test_an_xlsx_export_holds_no_formula_after_control_characters_go(
    tmp_path: Path,
) -> None:
    rows = [ExportRow(i, v, "webhook", "failed", 1, v, None) for i, v in enumerate(HIDDEN, 1)]
    path = tmp_path / "report.xlsx"
    writer = open_report_writer(path, ExportFormat.xlsx)
    await writer.write(rows)
    await writer.close()
    sheet = load_workbook(path).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    addresses = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert addresses == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'@SUM(A1:A2)",
        "'+1+2",
    ]


@pytest.mark.parametrize(
    "value", ["ann@example.com", "7001", "-1001234567890", "+15", "", "550 no such user a=b"]
)
def test_ordinary_text_and_plain_numbers_stay_as_they_are(value: str) -> None:
    assert escape_cell(value) == value


@pytest.mark.parametrize("fmt", list(ExportFormat))
async def test_both_formats_escape_addresses_and_errors(fmt: ExportFormat, tmp_path: Path) -> None:
    rows = [
        ExportRow(i, value, "webhook", "failed", 2, value, datetime(2026, 11, 27, tzinfo=UTC))
        for i, value in enumerate(DANGEROUS, 1)
    ]
    path = tmp_path / f"report.{fmt.value}"
    writer = open_report_writer(path, fmt)
    await writer.write(rows[:3])
    await writer.write(rows[3:])
    await writer.close()
    if fmt is ExportFormat.csv:
        with path.open(encoding="utf-8-sig", newline="") as f:
            got = [(r["address"], r["last_error"]) for r in csv.DictReader(f)]
    else:
        sheet = load_workbook(path).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
        # XML reads a carriage return back as a line feed; the quote is what matters.
        got = [
            (r[0].replace("\n", "\r"), r[4].replace("\n", "\r"))
            for r in sheet.iter_rows(min_row=2, values_only=True)
        ]
    assert got == [("'" + v, "'" + v) for v in DANGEROUS]
