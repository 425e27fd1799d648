"""``/healthz`` and ``/metrics`` for orchestrators and Prometheus (bot and worker processes).

``/healthz`` answers 200 when the database answers ``SELECT 1`` within three seconds and
every in-process part is alive (the scheduler in the bot, the delivery workers wherever
they run), else 503; the JSON body names each check and its state, nothing else. Parts
that only degrade the service are reported beside the checks without failing them: the
bounce reader (``bounce_reader``: ``state`` ok | login refused | unreachable | error,
``last_poll``, ``last_success``, messages processed by kind, ``unknown`` and
``malformed`` among them) and the pixel and redirect (``tracking``: ``state`` ok | not
counting, opens, clicks, ``refused_tokens`` and when the last came), since a mailbox
that is down must not make an orchestrator restart a bot that still sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.metrics import Metrics
from bot.web import Site

PING_TIMEOUT = 3.0
Ping = Callable[[], Awaitable[None]]
Alive = Callable[[], bool]
Report = Callable[[], dict[str, object]]  # a part's state shown as is (the bounce reader)


class Probes:
    def __init__(
        self,
        ping: Ping,
        metrics: Metrics,
        parts: Mapping[str, Alive],
        reports: Mapping[str, Report] | None = None,
        ping_timeout: float = PING_TIMEOUT,
    ) -> None:
        self.ping, self.metrics, self.parts = ping, metrics, dict(parts)
        self.reports = dict(reports or {})
        self.ping_timeout = ping_timeout

    def install(self, site: Site) -> None:
        site.add("/healthz", self.healthz, ["GET"])
        site.add("/metrics", self.scrape, ["GET"])

    async def healthz(self, request: Request) -> Response:
        checks = {"database": await self._database()}
        checks.update({name: "ok" if alive() else "down" for name, alive in self.parts.items()})
        healthy = all(state == "ok" for state in checks.values())
        body: dict[str, object] = {"status": "ok" if healthy else "fail", "checks": checks}
        body.update({name: report() for name, report in self.reports.items()})
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def scrape(self, request: Request) -> Response:
        body = await self.metrics.render()
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _database(self) -> str:
        try:
            await asyncio.wait_for(self.ping(), self.ping_timeout)
        except TimeoutError:
            return "timeout"
        except Exception:  # the error text may carry host names: say only that it failed
            return "unreachable"
        return "ok"
