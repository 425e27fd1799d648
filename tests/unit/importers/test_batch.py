"""The per-batch rules PostgreSQL's store relies on (``batch.py``, ``postgres._Tally``)."""

from __future__ import annotations

import json

from infrastructure.importers.batch import EMPTY, attributes_json, unique_batch
from infrastructure.importers.postgres import _Tally


def test_attributes_are_stripped_and_empty_ones_left_out() -> None:
    text = attributes_json(["name", "город", "plan", "note"], [" Анна\u00a0", "\t\r\n", "", None])
    assert json.loads(text) == {"name": "Анна"}
    assert attributes_json(["name"], ["  "]) == EMPTY


def test_attributes_are_valid_json_whatever_the_cell_holds() -> None:
    cell = 'say "hi" \\ back\x01\u2028'
    assert json.loads(attributes_json(["q"], [cell])) == {"q": cell}
    assert "Анна" in attributes_json(["name"], ["Анна"])  # as it is, not \u-escaped


def test_a_batch_holds_each_address_once_with_its_last_record() -> None:
    records = [
        (2, "email", "b@x.ru", "B1", "Rome"),
        (3, "email", "a@x.ru", "A", ""),
        (4, "email", "b@x.ru", "B2", ""),
        (5, "telegram", "42", "T", "Kazan"),
    ]
    batch = unique_batch(records, ["name", "city"])
    assert list(zip(batch.kinds, batch.values, strict=True)) == [
        ("email", "a@x.ru"),  # sorted by kind and value, as the unique index
        ("email", "b@x.ru"),
        ("telegram", "42"),
    ]
    assert [json.loads(a) for a in batch.attributes] == [
        {"name": "A"},
        {"name": "B2"},  # the last record: its empty city does not bring Rome back
        {"name": "T", "city": "Kazan"},
    ]
    assert len(batch) == 3


def test_a_batch_without_attribute_columns() -> None:
    batch = unique_batch([(1, "email", "a@x.ru"), (2, "email", "a@x.ru")], [])
    assert (batch.values, batch.attributes) == (["a@x.ru"], [EMPTY])


def test_the_tally_knows_the_ids_the_import_made_even_when_others_took_some() -> None:
    tally = _Tally()
    tally.add_own([10, 11, 12])
    tally.add_own([15, 13])  # another writer took 14 meanwhile
    tally.add_own([5])  # a sequence handing out ids out of order (cached values)
    assert [i for i in range(3, 18) if tally.own(i)] == [5, 10, 11, 12, 13, 15]
