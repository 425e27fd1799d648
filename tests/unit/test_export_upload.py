"""A report over the Bot API's 50 MB upload limit goes zipped, or not at all."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from handlers import stats


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
