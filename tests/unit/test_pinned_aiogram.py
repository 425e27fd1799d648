"""aiogram's memory patch (bot/slim_aiogram.py) holds in this process and for the pinned
releases it was checked against."""

from __future__ import annotations

from importlib.metadata import version

from bot import slim_aiogram


def test_aiogram_was_imported_through_the_patch() -> None:
    assert slim_aiogram.is_slim(), (
        "aiogram was imported before bot.slim_aiogram.install(): something imports aiogram "
        "before `import bot` (a pytest plugin, a conftest, an entry point), so aiogram "
        "builds every validator eagerly (~95 MB per process) and the tests no longer run "
        "the code production runs. Import `bot` first, as tests/conftest.py does."
    )


def test_installed_aiogram_and_pydantic_are_the_checked_minor_versions() -> None:
    for package, checked in slim_aiogram.CHECKED_WITH.items():
        installed = ".".join(version(package).split(".")[:2])
        assert installed == checked, (
            f"{package} {version(package)} is installed but bot/slim_aiogram.py and the "
            f"narrowed SendMessage answers in infrastructure/channels/telegram.py were "
            f"checked against {checked}: install from the lock (scripts/bootstrap dev), or "
            f"run tests/unit/test_slim_aiogram.py and the Telegram channel tests on the new "
            f"release, then update CHECKED_WITH and the pin in pyproject.toml (scripts/lock)"
        )
