"""One staging batch as PostgreSQL stores it: one entry per address, its attributes as JSON.

The rules the set-based SQL used to apply over the whole file, applied a batch at a time
in the worker thread (PostgreSQL's backend is the import's bottleneck; Python has the other
core): within a batch the last record of an address wins (across batches the store keeps
the same rule, ``postgres.py``), and an attribute is stripped of blanks (``BLANKS``) and
left out when empty, so an empty cell never overwrites what an address already has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring

from infrastructure.importers.rows import Record

# Whitespace a cell may be padded with: space, tab, CR, LF, no-break space (SQLite's
# statements strip the same, ``sql.BLANKS``).
BLANKS = " \t\r\n\u00a0"
EMPTY = "{}"
# A JSON string with every character but the escaped ones as it is (C-accelerated).
_quoted: Callable[[str], str] = encode_basestring


@dataclass(slots=True)
class Batch:
    """Distinct addresses of a batch, sorted by kind and value."""

    kinds: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)  # JSON objects

    def __len__(self) -> int:
        return len(self.values)


def attributes_json(keys: Sequence[str], texts: Sequence[str | None]) -> str:
    """``{key: text}`` as JSON, texts stripped of ``BLANKS``, empty ones left out."""
    return _attributes_maker(keys)(texts)


def _attributes_maker(keys: Sequence[str]) -> Callable[[Sequence[str | None]], str]:
    """``attributes_json`` for ``keys``, with each key's JSON made once (it runs for every
    distinct address of a file: a million calls, hence the plain loop)."""
    prefixes = [f"{_quoted(key)}:" for key in keys]

    def make(texts: Sequence[str | None]) -> str:
        parts = []
        for prefix, text in zip(prefixes, texts, strict=False):
            if text and (stripped := text.strip(BLANKS)):
                parts.append(prefix + _quoted(stripped))
        return "{" + ",".join(parts) + "}" if parts else EMPTY

    return make


def unique_batch(records: Sequence[Record], keys: Sequence[str]) -> Batch:
    """``records`` (line, kind, value, *attribute texts) as one entry per (kind, value),
    with the attributes of its last record, sorted by kind and value (in code point
    order, as the unique index of ``addresses`` in byte order: new addresses then go in
    near each other in the index)."""
    last = {(record[1], record[2]): record for record in records}
    batch = Batch()
    kinds, values, attributes = batch.kinds, batch.values, batch.attributes
    make = _attributes_maker(keys)
    for key in sorted(last):
        kind, value = key
        kinds.append(kind)  # type: ignore[arg-type]
        values.append(value)  # type: ignore[arg-type]
        attributes.append(make(last[key][3:]) if keys else EMPTY)  # type: ignore[arg-type]
    return batch
