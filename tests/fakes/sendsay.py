"""In-process fake of the Sendsay JSON API on 127.0.0.1 (port 0)::

    async with FakeSendsay(account="acme", api_key="k") as fake:
        client = SendsayClient("acme", "k", base_url=fake.base_url)
        fake.add_group("vip", "VIP", members=[{"email": "a@x.ru", "name": "Ann"}])
        fake.redirect_once_to("/general/api/v100/json/acme")   # next answer is a REDIRECT
        fake.fail_next("member.list", errors=[{"id": "error/some"}], status=200)
        fake.requests                                         # every request, in order

What is confirmed and what is assumed (keep the emulation honest):

- Confirmed (Sendsay docs, official clients): POST ``/general/api/v100/json/<account>``
  with a JSON body holding ``action``; ``Authorization: sendsay apikey=KEY``; answers
  ``{"REDIRECT": "<path>"}`` that the client re-sends to; ``{"errors": [{"id", "explain"}]}``;
  ``error/auth/failed``; ``track.get`` with ``id`` → ``obj.status`` (-1 done, -2 error).
- Assumed: HTTP 200 for API-level errors (auth included); ``group.list`` →
  ``{"list": [{"id", "name", "type", "addr_type"}]}``; ``member.list`` rows as objects
  ``{"member.email", "member.id", <data…>}``, ``page`` from 1 and ``pagesize`` (default
  100 here); the ids ``error/group/not_found``, ``error/track/not_found`` and
  ``error/action/unknown``.

``issue.send`` (for ``SendsayChannel``): every accepted send is kept in ``fake.issues``
(the request body); the answer is ``{"track.id": N}`` with a track that is done (-1).
Assumed: that answer shape, and the per-address error ids a test scripts with
``fake.reject_email(email, "error/email/invalid")`` (answered for every send to it).

More actions (``member.set``, ``stat.uni``) plug in through
``fake.handlers[action] = callable(body) -> answer``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

Answer = dict[str, Any]
Handler = Callable[[dict[str, Any]], Answer | Awaitable[Answer]]
API_PREFIX = "/general/api/v100/json"


@dataclass(frozen=True)
class SendsayRequest:
    path: str
    authorization: str
    body: dict[str, Any]

    @property
    def action(self) -> str:
        return str(self.body.get("action", ""))


@dataclass
class FakeGroup:
    id: str
    name: str
    members: list[dict[str, Any]] = field(default_factory=list)
    type: str = "list"


@dataclass
class _Failure:
    errors: list[dict[str, Any]] | None
    status: int
    body: str | None
    retry_after: float | None


class FakeSendsay:
    def __init__(self, *, account: str = "acme", api_key: str = "k", host: str = "127.0.0.1"):
        self.account = account
        self.api_key = api_key
        self.host = host
        self.port: int | None = None
        self.requests: list[SendsayRequest] = []
        self.groups: dict[str, FakeGroup] = {}
        self.tracks: dict[int, deque[int]] = {}
        self.delay = 0.0  # seconds before every answer (client timeouts)
        self.handlers: dict[str, Handler] = {
            "ping": lambda body: {"pong": 1},
            "group.list": self.group_list,
            "member.list": self.member_list,
            "track.get": self.track_get,
            "issue.send": self.issue_send,
        }
        self.issues: list[dict[str, Any]] = []
        self._rejected: dict[str, str] = {}
        self._failures: defaultdict[str, deque[_Failure]] = defaultdict(deque)
        self._redirects: deque[str] = deque()
        self._track_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """What ``SendsayClient(base_url=…)`` takes: the account is appended by the client."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    # ------------------------------------------------------------------ scripting
    def add_group(
        self, group_id: str, name: str, members: list[dict[str, Any]] | None = None
    ) -> FakeGroup:
        group = FakeGroup(group_id, name, list(members or []))
        self.groups[group_id] = group
        return group

    def add_track(self, statuses: list[int]) -> int:
        """A long action whose ``track.get`` answers these statuses in turn (the last stays)."""
        track_id = next(self._track_ids)
        self.tracks[track_id] = deque(statuses)
        return track_id

    def redirect_once_to(self, path: str) -> None:
        self._redirects.append(path)

    def fail_next(
        self,
        action: str,
        errors: list[dict[str, Any]] | None = None,
        status: int = 200,
        *,
        body: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        failure = _Failure(errors, status, body, retry_after)
        self._failures[action].extend([failure] * times)

    def reject_email(self, email: str, error_id: str) -> None:
        """Every ``issue.send`` to ``email`` answers ``{"errors": [{"id": error_id}]}``."""
        self._rejected[email.lower()] = error_id

    def actions(self) -> list[str]:
        return [request.action for request in self.requests]

    # ------------------------------------------------------------------ actions
    def group_list(self, body: dict[str, Any]) -> Answer:
        return {
            "list": [
                {"id": g.id, "name": g.name, "type": g.type, "addr_type": "email"}
                for g in self.groups.values()
            ]
        }

    def member_list(self, body: dict[str, Any]) -> Answer:
        group = self.groups.get(str(body.get("group")))
        if group is None:
            return _errors("error/group/not_found", body.get("group"))
        page, size = int(body.get("page", 1)), int(body.get("pagesize", 100))
        start = (page - 1) * size
        chunk = group.members[start : start + size]
        rows = [_member_row(number, member) for number, member in enumerate(chunk, start + 1)]
        return {"list": rows, "page": page, "pagesize": size}

    def track_get(self, body: dict[str, Any]) -> Answer:
        statuses = self.tracks.get(int(body.get("id", 0)))
        if statuses is None:
            return _errors("error/track/not_found", body.get("id"))
        status = statuses.popleft() if len(statuses) > 1 else statuses[0]
        return {"obj": {"id": body["id"], "status": status}}

    def issue_send(self, body: dict[str, Any]) -> Answer:
        email = str(body.get("email", "")).lower()
        if email in self._rejected:
            return _errors(self._rejected[email], email)
        letter = body.get("letter")
        if not isinstance(letter, dict) or not isinstance(letter.get("message"), dict):
            return _errors("error/letter/invalid", "letter.message is required")
        self.issues.append(body)
        return {"track.id": self.add_track([-1])}

    # ------------------------------------------------------------------ HTTP
    async def __aenter__(self) -> Self:
        app = web.Application()
        # Any path: a REDIRECT may name another "cluster" path; the account is its last part.
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        auth = request.headers.get("Authorization", "")
        self.requests.append(SendsayRequest(request.path, auth, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path.rstrip("/").rsplit("/", 1)[-1] != self.account:
            return web.json_response(_errors("error/auth/failed", "wrong account"))
        if auth != f"sendsay apikey={self.api_key}":
            return web.json_response(_errors("error/auth/failed", "bad apikey"))
        if self._redirects:
            return web.json_response({"REDIRECT": self._redirects.popleft()})
        action = str(body.get("action", ""))
        if self._failures[action]:
            return _failure_response(self._failures[action].popleft())
        handler = self.handlers.get(action)
        if handler is None:
            return web.json_response(_errors("error/action/unknown", action))
        answer = handler(body)
        if inspect.isawaitable(answer):
            answer = await answer
        return web.json_response(answer)


def _member_row(number: int, member: dict[str, Any]) -> dict[str, Any]:
    data = {key: value for key, value in member.items() if key != "email"}
    return {"member.email": member["email"], "member.id": number, **data}


def _errors(error_id: str, explain: Any = None) -> Answer:
    return {"errors": [{"id": error_id, "explain": explain}]}


def _failure_response(failure: _Failure) -> web.Response:
    headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after else {}
    if failure.body is not None:
        return web.Response(status=failure.status, text=failure.body, headers=headers)
    payload = {"errors": failure.errors or [{"id": "error/fake"}]}
    return web.json_response(payload, status=failure.status, headers=headers)
