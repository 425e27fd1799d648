"""Fixtures shared by every test package; the database ones live in tests.support.db."""

import bot  # noqa: F401  (first, as in production: aiogram is imported slim)

pytest_plugins = ["tests.support.db"]
