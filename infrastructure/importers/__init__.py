"""Importing recipient files (CSV, XLSX, plain text) into lists.

Wiring::

    importer = SqlRecipientImporter(engine)   # implements domain.ports.imports.RecipientImporter
    names = sheet_names(path)                 # XLSX: ask the manager which sheet to read
"""

from infrastructure.importers.importer import SqlRecipientImporter
from infrastructure.importers.validation import TextAddressParser
from infrastructure.importers.xlsx import sheet_names

__all__ = ["SqlRecipientImporter", "TextAddressParser", "sheet_names"]
