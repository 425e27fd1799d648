"""Which delimiter a text table uses: ``,``, ``;`` or tab, or none (one value per line).

``csv.Sniffer`` guesses wrong on short files and on names with commas, so: count each
candidate outside quotes in the first records and take the one whose count is the same
on most of them. Ties go to the extension's habit, then to tab, ``;`` and ``,`` in that
order (a comma turns up in names and addresses far more often than the other two).
"""

from __future__ import annotations

from collections import Counter

SAMPLE_RECORDS = 20
CANDIDATES = ("\t", ";", ",")
_PREFERRED = {".tsv": "\t", ".tab": "\t"}


def split_records(sample: str, complete: bool) -> list[str]:
    """Logical records of ``sample``: newlines inside quotes do not end one.

    The last record is dropped unless ``complete``: the sample may cut it short.
    """
    records: list[str] = []
    start, quoted = 0, False
    for index, char in enumerate(sample):
        if char == '"':
            quoted = not quoted
        elif char == "\n" and not quoted:
            records.append(sample[start:index])
            start = index + 1
            if len(records) >= SAMPLE_RECORDS * 3:
                break
    else:
        if complete and start < len(sample):
            records.append(sample[start:])
    return [record for record in records if record.strip()][:SAMPLE_RECORDS]


def _count_outside_quotes(record: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    quoted = False
    for char in record:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in CANDIDATES:
            counts[char] += 1
    return counts


def detect_delimiter(sample: str, complete: bool, suffix: str = "") -> str | None:
    """The delimiter, or ``None`` for a one-column file."""
    records = split_records(sample, complete)
    if not records:
        return None
    counts = [_count_outside_quotes(record) for record in records]
    preferred = _PREFERRED.get(suffix.lower())
    best: tuple[float, bool, int] | None = None
    chosen = None
    for rank, candidate in enumerate(reversed(CANDIDATES)):
        present = Counter(count[candidate] for count in counts if count[candidate])
        if not present:
            continue
        _, times = present.most_common(1)[0]
        score = (times / len(records), candidate == preferred, rank)
        if best is None or score > best:
            best, chosen = score, candidate
    if best is None or best[0] < 0.5:
        return None
    return chosen
