"""The files a new user reads stay in step with the code: every setting is documented and
listed, containers only set settings that exist, and the image ships every package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = set(Settings.env_names())
COMPOSE_ONLY = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert listed == SETTINGS


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in SETTINGS if f"`{name}`" not in readme}
    assert not missing


def test_compose_sets_only_real_settings() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    keys = set(re.findall(r"^\s{6}([A-Z_]+):", compose, re.M))
    assert keys, "no environment keys found"
    assert keys - COMPOSE_ONLY <= SETTINGS


def test_the_image_ships_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("bot", "domain", "infrastructure", "handlers", "migrations"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_bot_and_workers_are_probed_on_healthz() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    probe = re.search(r"^x-healthz: &healthz\n((?:  .*\n)+)", compose, re.M)
    assert probe and "http://127.0.0.1:8080/healthz" in probe.group(1)
    for service in ("bot", "worker"):
        block = re.search(rf"^  {service}:\n((?:    .*\n|\s*\n)+)", compose, re.M)
        assert block, service
        assert "healthcheck: *healthz" in block.group(1)
        assert "WEB_PORT: 8080" in block.group(1) and "WEB_HOST: 0.0.0.0" in block.group(1)


def test_installs_come_from_the_hashed_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements/runtime.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text()
    assert 'pip install --require-hashes -r "$lock"' in bootstrap
    for lock in ("runtime", "dev"):
        text = (ROOT / "requirements" / f"{lock}.lock").read_text()
        pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)
        assert len(pins) > 40, lock
        # every requirement line is an exact pin followed by its hashes
        assert all(not line[:1].isalpha() or "==" in line for line in text.splitlines())
        assert text.count("--hash=sha256:") >= len(pins)


def test_aiogram_and_pydantic_pins_match_what_the_patch_was_checked_against() -> None:
    from bot.slim_aiogram import CHECKED_WITH

    pyproject = (ROOT / "pyproject.toml").read_text()
    for package, checked in CHECKED_WITH.items():
        major, minor = checked.split(".")
        assert f'"{package}>={checked},<{major}.{int(minor) + 1}"' in pyproject, package
        for lock in ("runtime", "dev"):
            text = (ROOT / "requirements" / f"{lock}.lock").read_text()
            assert re.search(rf"^{package}=={re.escape(checked)}\.", text, re.M), (lock, package)


@pytest.mark.parametrize("doc", ["ARCHITECTURE.md", "CONTRIBUTING.md"])
def test_every_path_the_engineers_docs_name_exists(doc: str) -> None:
    text = (ROOT / doc).read_text()
    paths = set(re.findall(r"`((?:[\w.-]+/)+[\w.-]*)`", text))
    assert len(paths) > 10, paths
    named = {p.replace("{en,ru}", "en") for p in paths if "NNNN" not in p}  # not templates
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{doc} names files that are gone: {missing}"
