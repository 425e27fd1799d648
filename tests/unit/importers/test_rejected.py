"""The file of rejected rows: every one of them, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

from domain.imports import RejectedLabels
from infrastructure.importers.rejected import RejectedLog

RU = RejectedLabels("Строка", "Причина", {"import-invalid-email": "некорректный email"})


def rows_of(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file, delimiter=";"))


def test_nothing_rejected_means_no_file(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "r.csv", sample_size=2)
    assert log.close() is None
    assert not (tmp_path / "r.csv").exists()


def test_every_row_goes_to_the_file_and_the_first_ones_to_the_sample(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "r.csv", sample_size=2, labels=RU)
    log.use_columns(["Email", "Имя"], ",")
    for line in range(2, 7):
        log.add(line, [f"bad{line}", "Иван"], "import-invalid-email")
    path = log.close()
    assert path is not None
    # In the manager's language, with the row's own cells under the file's own header.
    assert rows_of(path) == [["Строка", "Причина", "Email", "Имя"]] + [
        [str(line), "некорректный email", f"bad{line}", "Иван"] for line in range(2, 7)
    ]
    assert [row.line for row in log.sample] == [2, 3] and log.count == 5
    assert log.sample[0].raw == "bad2,Иван" and log.sample[0].reason == "import-invalid-email"


def test_cells_a_spreadsheet_would_run_are_escaped(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "r.csv", sample_size=10)
    for raw in ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\tx", "plain", "-100123"]:
        log.add(2, [raw], "import-invalid-email")
    path = log.close()
    assert path is not None
    cells = [row[2] for row in rows_of(path)[1:]]
    assert cells == [
        "'=cmd|' /C calc'!A0",
        "'+1+2",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "plain",
        "-100123",  # a group's chat id stays a number, as it was
    ]
    assert log.sample[0].raw == "=cmd|' /C calc'!A0"  # the chat shows it as it was


def test_the_sample_quotes_long_rows_shortly(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "r.csv", sample_size=1)
    log.add(2, ["x" * 1000], "import-invalid-email")
    log.close()
    assert len(log.sample[0].raw) == 201
    assert len(rows_of(tmp_path / "r.csv")[1][2]) == 1000


def test_a_failed_import_removes_the_partial_file(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "r.csv", sample_size=1)
    log.add(2, ["x"], "import-invalid-email")
    log.discard()
    assert not (tmp_path / "r.csv").exists()
