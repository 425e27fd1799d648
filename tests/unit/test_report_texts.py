"""Reports in the reader's language: the texts handlers build for files and screens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.imports import REJECT_REASONS
from handlers.i18n import make_i18n
from handlers.lists_text import rejected_labels

I18N = make_i18n()


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    with I18N.context(), I18N.use_locale(locale):
        yield


def test_the_rejected_rows_file_speaks_russian_with_no_raw_keys() -> None:
    with speaking("ru"):
        labels = rejected_labels()
    assert (labels.line, labels.reason) == ("Строка", "Причина")
    assert labels.text("import-invalid-email") == "некорректный email"
    assert set(labels.reasons) == set(REJECT_REASONS)
    for text in labels.reasons.values():
        assert "import-" not in text and "<" not in text and "&" not in text
