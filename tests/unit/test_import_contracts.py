"""The import-linter contract that keeps use cases off each other's internals finds both
ways of reaching a sibling's private name, and lets public names and dunders pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_contracts import private_uses


def test_private_names_of_siblings_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def _inner(): ...\ndef public(): ...\n")
    (package / "b.py").write_text(
        "from pkg.a import (\n    public,\n    _inner,\n)\n"
        "from pkg import a as other\n"
        "import pkg.a as aliased\n"
        "def f():\n    return other._inner(), aliased._hidden, other.__name__, other.public\n"
        "def _own(): ...\n"
    )
    monkeypatch.chdir(tmp_path)
    assert private_uses("pkg.b", {"pkg.a"}) == [
        (1, "pkg.a._inner"),  # the import statement's first line
        (8, "pkg.a._hidden"),
        (8, "pkg.a._inner"),
    ]
    assert private_uses("pkg.a", {"pkg.b"}) == []
