"""A ``mailforge worker`` process builds what delivery and its probes need, and no
dispatcher, routers or FSM storage: it takes no updates (``bot/worker_app.py``). The
process itself is run by ``test_worker_probes.py`` and ``test_workers.py``."""

from __future__ import annotations

import gc
from dataclasses import fields

from aiogram import Dispatcher, Router

from bot.app import build
from bot.settings import load_settings
from bot.worker_app import WorkerApp, build_worker
from tests.e2e.conftest import TOKEN


def alive() -> tuple[int, int]:
    """Dispatchers and routers alive now (one walk of every object: each took ~1 s)."""
    gc.collect()
    counts = [0, 0]
    for o in gc.get_objects():
        if isinstance(o, Router):  # a Dispatcher is a Router too, as before
            counts[1] += 1
            counts[0] += isinstance(o, Dispatcher)
    return counts[0], counts[1]


async def test_a_worker_app_builds_no_dispatcher_nor_routers(migrated_sqlite_url: str) -> None:
    settings = load_settings(bot_token=TOKEN, database_url=migrated_sqlite_url, web_port=0)
    dispatchers, routers = alive()
    worker = build_worker(settings)
    try:
        assert alive() == (dispatchers, routers)
        built = {part.name for part in fields(WorkerApp)}
        assert built == {"settings", "db", "bot", "web", "delivery", "metrics"}
        site = worker.web.site
        paths = {route.path for route in site.routes}
        assert paths == {"/healthz", "/metrics"}  # no unsubscribe, tracking nor webhook
        assert site.fast == {} and site.api is None
    finally:
        await worker.close()

    # The check can see one: the bot's app builds its dispatcher and routers.
    app = build(settings)
    try:
        now_dispatchers, now_routers = alive()
        assert now_dispatchers == dispatchers + 1 and now_routers > routers
    finally:
        await app.close()
