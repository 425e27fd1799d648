"""Benches are slow tests (``-m "not slow"`` leaves them out)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: benches, subprocesses and scale-out tests")
