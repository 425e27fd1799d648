"""A file over the Bot API's 50 MB upload limit goes zipped, or (a CSV) cut to its first
rows, or (a report) not at all."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import pytest

from handlers import uploads as stats
from handlers.uploads import cut_csv


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(stats, "UPLOAD_LIMIT", 10_000)
    return 10_000


def test_a_report_that_fits_is_sent_as_it_is(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("address\n" + "a@example.com\n" * 100)
    assert stats.fit_for_upload(path) == path


def test_a_big_csv_goes_zipped_with_the_same_content(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    content = "address,status\n" + "someone@example.com,delivered\n" * 5_000
    path.write_text(content)
    sent = stats.fit_for_upload(path)
    assert sent is not None and sent.name == "r.csv.zip"
    assert sent.stat().st_size <= small_limit
    with zipfile.ZipFile(sent) as archive:
        assert archive.read("r.csv").decode() == content


def test_a_report_too_big_even_zipped_is_not_sent(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    path.write_bytes(os.urandom(small_limit * 3))  # incompressible
    assert stats.fit_for_upload(path) is None


def test_a_csv_too_big_even_zipped_is_cut_to_whole_first_rows(
    small_limit: int, tmp_path: Path
) -> None:
    path = tmp_path / "rejected.csv"
    rows = [f'{n};{os.urandom(60).hex()};"a;b\nc"' for n in range(1, 301)]
    path.write_text("line;reason;cell\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    assert stats.fit_for_upload(path) is None  # random text does not zip under the limit

    cut = cut_csv(path, ";")

    assert cut.total == 300 and 0 < cut.kept < 300
    assert cut.path.stat().st_size <= small_limit
    with cut.path.open(encoding="utf-8-sig", newline="") as f:
        got = list(csv.reader(f, delimiter=";"))
    assert got[0] == ["line", "reason", "cell"]
    assert len(got) == cut.kept + 1 and got[-1][0] == str(cut.kept)
    assert all(row[2] == "a;b\nc" for row in got[1:])  # quoted cells stay whole
