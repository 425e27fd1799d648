"""A fake Sendsay account on 127.0.0.1 (port 0), written from ``/work/shared/SENDSAY.md``::

    async with FakeSendsay(account="acme", api_key="k") as fake:
        client = SendsayClient("acme", "k", base_url=fake.base_url)
        fake.confirm_sender("news@acme.example")
        fake.add_group("vip", "VIP", members=[{"email": "a@x.ru", "base.name": "Ann"}])
        fake.move_to("/clu7/general/api/v100/json/acme")   # answers REDIRECT elsewhere
        fake.fail_next("member.list", status=503, retry_after=1)
        fake.requests                                       # every request, in order

The HTTP side (confirmed): ``POST /general/api/v100/json/<account>`` with a UTF-8 JSON body
holding ``action``; one credential, either ``Authorization: sendsay apikey=KEY`` or
``"apikey"`` (or ``"session"``) in the body, two of them are ``too_many_auth_parameters``;
a wrong key is ``error/auth/failed``, an expired one the same with explain ``expired``;
``{"errors": [{"id", "explain"}]}``; an account that lives elsewhere answers
``{"REDIRECT": "<path>"}`` (the clients append it to the host).

The actions and their state live in ``sendsay_account.py`` (the account) and
``sendsay_stat.py`` (``stat.uni``); unknown shapes are knobs in ``fake.variants``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.sendsay_account import (
    CANCELLED,
    DONE,
    ERROR,
    LATER,
    MODERATION,
    NOT_MODERATED,
    TAKEN,
    Answer,
    FakeAccount,
    Group,
    Issue,
    Variants,
    error,
)
from tests.fakes.sendsay_stat import StatUni

Handler = Callable[[dict[str, Any]], Answer | Awaitable[Answer]]
API_PREFIX = "/general/api/v100/json"
__all__ = [
    "CANCELLED",
    "DONE",
    "ERROR",
    "LATER",
    "MODERATION",
    "NOT_MODERATED",
    "TAKEN",
    "FakeSendsay",
    "Handler",
    "Issue",
    "SendsayRequest",
    "Variants",
]


@dataclass(frozen=True)
class SendsayRequest:
    path: str
    authorization: str
    body: dict[str, Any]

    @property
    def action(self) -> str:
        return str(self.body.get("action", ""))


@dataclass
class _Failure:
    errors: list[dict[str, Any]] | None
    status: int | None
    body: str | None
    retry_after: float | None


class FakeSendsay(FakeAccount):
    def __init__(self, *, account: str = "acme", api_key: str = "k", host: str = "127.0.0.1"):
        super().__init__()
        self.account = account
        self.api_key = api_key
        self.expired = False  # the key was valid once: error/auth/failed, explain "expired"
        self.host = host
        self.port: int | None = None
        self.home = f"{API_PREFIX}/{account}"  # where the account lives (move_to changes it)
        self.loop_redirects = False
        self.requests: list[SendsayRequest] = []
        self.delay = 0.0  # seconds before every answer (client timeouts)
        self.stat = StatUni(self)
        self.handlers: dict[str, Handler] = {
            "group.list": self.group_list,
            "group.get": self.group_get,
            "group.create": self.group_create,
            "group.delete": self.group_delete,
            "anketa.list": self.anketa_list,
            "anketa.get": self.anketa_get,
            "anketa.create": self.anketa_create,
            "anketa.quest.add": self.anketa_quest_add,
            "member.import": self.member_import,
            "member.list": self.member_list,
            "issue.send": self.issue_send,
            "track.get": self.track_get,
            "stat.uni": self.stat,
        }
        self._failures: defaultdict[str, deque[_Failure]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """What ``SendsayClient(base_url=…)`` takes: the account is appended by the client."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    # ------------------------------------------------------------------ scripting
    def confirm_sender(self, email: str, state: str = "confirmed") -> None:
        """A sender of the account: ``confirmed``, ``onmoderation`` or ``prohibited``."""
        self.senders[email.lower()] = state

    def add_group(
        self, group_id: str, name: str, members: list[dict[str, Any]] | None = None
    ) -> Group:
        """A list with members: ``{"email": …, "<anketa>.<quest>": value, …}``."""
        group = Group(group_id, name)
        for member in members or []:
            email = str(member["email"]).lower()
            data = {k: str(v) for k, v in member.items() if k != "email"}
            self.members.setdefault(email, {}).update(data)
            group.emails.append(email)
        self.groups[group_id] = group
        return group

    def stop_list(self, email: str) -> None:
        self.excluded[email.lower()] = "issue.stoplist"

    def unsubscribe(self, email: str) -> None:
        self.excluded[email.lower()] = "issue.lockunsub"

    def exclude(self, email: str, counter: str) -> None:
        """Left out of every issue and counted in ``counter`` (``issue.hardbounce``, …)."""
        self.excluded[email.lower()] = counter

    def deliv_result(self, email: str, result: str, reason: str | None = None) -> None:
        """What ``stat.uni`` reports for ``email`` (``deliv.result`` "1" by default)."""
        self.results[email.lower()] = (result, reason)

    def report_late(self, email: str, times: int) -> None:
        """``stat.uni`` reports ``email`` as "0" (not final) this many times first."""
        self.late[email.lower()] = times

    def move_to(self, path: str) -> None:
        """The account now lives at ``path``: requests elsewhere get ``{"REDIRECT": path}``."""
        self.home = path

    def redirect_forever(self) -> None:
        self.loop_redirects = True

    def fail_next(
        self,
        action: str,
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        *,
        body: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests of ``action`` fail: with ``errors`` (HTTP ``status``,
        else ``variants.error_status``), or with a raw ``body`` (an HTML page…)."""
        failure = _Failure(errors, status, body, retry_after)
        self._failures[action].extend([failure] * times)

    def actions(self) -> list[str]:
        return [request.action for request in self.requests]

    def bodies(self, action: str) -> list[dict[str, Any]]:
        return [request.body for request in self.requests if request.action == action]

    # ------------------------------------------------------------------ HTTP
    async def __aenter__(self) -> Self:
        app = web.Application()
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
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        auth = request.headers.get("Authorization", "")
        self.requests.append(SendsayRequest(request.path, auth, body or {}))
        if self.delay:
            await asyncio.sleep(self.delay)
        if not isinstance(body, dict) or not body.get("action"):
            return self._json(error("error/request/json", "a JSON object with action"))
        problem = self._auth_problem(request.path, auth, body)
        if problem is not None:
            return self._json(problem)
        if self.loop_redirects:
            hop = len(self.requests) % 2
            return web.json_response({"REDIRECT": f"/clu{hop}{API_PREFIX}/{self.account}"})
        if request.path != self.home:
            return web.json_response({"REDIRECT": self.home})
        action = str(body["action"])
        if self._failures[action]:
            return self._failure(self._failures[action].popleft())
        handler = self.handlers.get(action)
        if handler is None:
            return self._json(error("error/action/unknown", action))
        answer = handler(body)
        if inspect.isawaitable(answer):
            answer = await answer
        return self._json(answer)

    def _auth_problem(self, path: str, auth: str, body: dict[str, Any]) -> Answer | None:
        given = [auth] if auth else []
        given += [str(body[k]) for k in ("apikey", "session") if k in body]
        if len(given) > 1:
            return error("too_many_auth_parameters")
        if path.rstrip("/").rsplit("/", 1)[-1] != self.account:
            return error("error/auth/failed", "unknown account")
        key = given[0].removeprefix("sendsay apikey=") if given else ""
        if key != self.api_key:
            return error("error/auth/failed", "bad apikey")
        if self.expired:
            return error("error/auth/failed", "expired")
        return None

    def _json(self, answer: Answer) -> web.Response:
        errors = answer.get("errors")
        if not errors:
            return web.json_response(answer)
        if self.variants.single_error:
            answer = {"error": errors[0]}
        return web.json_response(answer, status=self.variants.error_status)

    def _failure(self, failure: _Failure) -> web.Response:
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after else {}
        status = failure.status or self.variants.error_status
        if failure.body is not None:
            return web.Response(status=status, text=failure.body, headers=headers)
        payload = {"errors": failure.errors or [{"id": "error/fake"}]}
        return web.json_response(payload, status=status, headers=headers)
