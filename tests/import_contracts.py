"""import-linter contract types of our own (registered in pyproject.toml, run by lint-imports).

``private_names``: the modules of a package use each other's public names only. A module of
``packages`` may not ``from sibling import _name`` nor read ``sibling._name`` from a sibling
module it imported: what starts with an underscore is the sibling's internal, free to change
without a look at its callers. Imports within one module, and dunder names, are fine.

Options: ``packages`` (the packages whose modules are checked against each other),
``ignore_names`` (``importer -> module._name`` that are known debt; an entry that no longer
matches breaks the contract, so the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _source(module: str) -> Path:
    base = Path(*module.split("."))
    package = base / "__init__.py"
    return package if package.exists() else base.with_suffix(".py")


def private_uses(module: str, siblings: set[str]) -> list[tuple[int, str]]:
    """(line, "sibling._name") for each private name of a sibling that ``module`` uses."""
    tree = ast.parse(_source(module).read_text(), filename=str(_source(module)))
    found: list[tuple[int, str]] = []
    aliases: dict[str, str] = {}  # local name -> sibling module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in siblings:  # from package import sibling
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                elif node.module in siblings and _private(alias.name):
                    found.append((node.lineno, f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in siblings and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and _private(node.attr)
        ):
            found.append((node.lineno, f"{aliases[node.value.id]}.{node.attr}"))
    return sorted(set(found))


class PrivateNamesContract(Contract):
    type_name = "private_names"

    packages = fields.ListField(subfield=fields.StringField())
    ignore_names = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        ignored = {entry.replace(" ", "") for entry in self.ignore_names or []}  # type: ignore[attr-defined]
        seen: set[str] = set()
        broken: list[str] = []
        for package in self.packages:  # type: ignore[attr-defined]
            siblings = graph.find_children(package)
            for module in sorted(siblings):
                others = siblings - {module}
                for line, name in private_uses(module, others):
                    key = f"{module}->{name}"
                    if key in ignored:
                        seen.add(key)
                        continue
                    broken.append(f"{module}:{line} uses {name}, another module's internal")
        broken += [
            f"ignore_names entry {entry} matches nothing: remove it" for entry in ignored - seen
        ]
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(line, bold=False)
            output.new_line()
        output.print(
            "Make the name public in its module (and test it there), or move the shared "
            "rule into the domain."
        )
