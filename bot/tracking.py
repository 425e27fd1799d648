"""After sending, wired from settings: the one signer, VERP senders, the open pixel and
the click redirect on the web server, and the bounce mailbox reader.

The web routes stay thin over ``domain.usecases.tracking.Tracker``: a genuine click is
a 302 to the run's own link, anything else a plain 404 page (never an open redirect);
the pixel is served to every request, and counted only for a genuine token.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.types import Receive, Scope, Send

from bot.settings import Settings
from bot.web import Site
from domain.bounces import BounceKind, Verp
from domain.ports.uow import UnitOfWorkFactory
from domain.signing import Signer
from domain.tracking import CLICK_PATH, OPEN_PATH, TrackingUrls
from domain.usecases.bounces import apply_bounce
from domain.usecases.tracking import Tracker
from infrastructure.bounces import BounceClassifier
from infrastructure.bounces.imap import ImapBounceReader, Mailbox

log = logging.getLogger(__name__)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NOT_FOUND = (
    '<!doctype html><html><head><meta charset="utf-8"><title>404 Not Found</title></head>'
    "<body><h1>404 Not Found</h1><p>This link is not valid.</p></body></html>"
)
FLUSH_SECONDS = 0.2
NO_STORE = [(b"cache-control", b"no-store, private"), (b"referrer-policy", b"no-referrer")]


def signer(settings: Settings) -> Signer:
    """The one signer of every token (``UNSUBSCRIBE_SECRET``, else from the bot token)."""
    return Signer(settings.unsubscribe_key())


def tracking_urls(settings: Settings) -> TrackingUrls | None:
    """``None`` when ``TRACKING=false``: no pixel, links lead straight to their targets."""
    if not settings.feedback.tracking:
        return None
    return TrackingUrls(signer(settings), settings.web.public_base_url)


def verp(settings: Settings) -> Verp | None:
    if settings.feedback.bounce_address is None:
        return None
    return Verp(signer(settings), settings.feedback.bounce_address)


@dataclass
class TrackingStatus:
    """What ``/healthz`` shows of the pixel and the redirect (counts of this process)."""

    state: str = "ok"  # ok | not counting (the database refused the last count)
    opens: int = 0  # genuine pixel requests
    clicks: int = 0  # genuine redirects
    refused: int = 0  # altered or unknown tokens: a plain 404 (or the pixel, uncounted)
    last_refused: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "opens": self.opens,
            "clicks": self.clicks,
            "refused_tokens": self.refused,
            "last_refused": self.last_refused.isoformat() if self.last_refused else None,
        }

    def refuse(self, what: str) -> None:
        self.refused += 1
        self.last_refused = datetime.now(UTC)
        log.info("%s: unknown or altered token, answered without counting", what)


class TrackingWeb:
    """The pixel and the redirect as raw ASGI handlers (``Site.fast``): the hottest
    routes of the server skip every router."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.status = TrackingStatus()
        self._task: asyncio.Task[None] | None = None

    def install(self, site: Site) -> None:
        site.fast[OPEN_PATH.removesuffix("{token}")] = self.pixel
        site.fast[CLICK_PATH.removesuffix("{token}")] = self.click
        site.on_start.append(self._start_counting)
        site.on_stop.append(self._stop_counting)

    async def _start_counting(self) -> None:
        """Clicks are counted every ``FLUSH_SECONDS`` while the server runs, and at its end."""
        self._task = asyncio.create_task(self._flush_forever())

    async def _stop_counting(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        try:
            if await self.tracker.flush():
                self.status.state = "ok"
        except Exception:  # the database is away: these clicks are lost, not the server
            self.status.state = "not counting"
            log.exception("Could not count clicks")

    async def pixel(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if await self.tracker.open(token, datetime.now(UTC)):
                self.status.opens += 1
                self.status.state = "ok"
            else:
                self.status.refuse("Open pixel")
        except Exception:  # an image is always answered; the count is what may be lost
            self.status.state = "not counting"
            log.exception("Could not count an open")
        await _answer(send, 200, PIXEL, [(b"content-type", b"image/gif")])

    async def click(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        target = await self.tracker.click(token, datetime.now(UTC))
        if target is None:
            self.status.refuse("Tracked link")
            html = [(b"content-type", b"text/html; charset=utf-8")]
            await _answer(send, 404, NOT_FOUND.encode(), html)
            return
        self.status.clicks += 1
        location = quote(target, safe=":/%#?=@[]!$&'()*+,;~")  # as Starlette's redirects
        await _answer(send, 302, b"", [(b"location", location.encode("ascii"))])


async def _answer(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, *NO_STORE, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bounce_reader(settings: Settings, uow_factory: UnitOfWorkFactory) -> ImapBounceReader | None:
    """The mailbox reader when ``BOUNCE_IMAP_URL`` is set (settings require the address)."""
    envelope = verp(settings)
    if settings.feedback.bounce_imap_url is None or envelope is None:
        return None
    classifier = BounceClassifier(envelope)
    limit = settings.feedback.soft_bounce_limit

    async def handle(raw: bytes) -> BounceKind:
        report = classifier.classify(raw)
        outcome = await apply_bounce(uow_factory, report, datetime.now(UTC), soft_limit=limit)
        return outcome.kind

    mailbox = Mailbox.from_url(settings.feedback.bounce_imap_url.get_secret_value())
    return ImapBounceReader(mailbox, handle)
