"""Fixtures shared by every test package; the database ones live in tests.support.db."""

pytest_plugins = ["tests.support.db", "tests.support.redis"]
