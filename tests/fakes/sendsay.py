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

Mass sends (for ``SendsayMassSender``; every shape here is ASSUMED unless the adapter's
docstring says it is confirmed):

- ``group.create``/``group.delete`` by ``id`` (``error/group/exists`` when it is there);
- ``anketa.create`` with ``id``/``name`` and ``anketa.quest.add`` with ``anketa.id`` and
  ``obj`` (one quest object or a list, each ``{"id", "name", "type"}``) keep the anketas in
  ``fake.anketas``; a second create answers ``error/anketa/already_exists`` (for a list of
  quests with one already there: ``error/anketa/quest/already_exists``, and none is
  added); an unknown anketa is ``error/anketa/not_exists``;
- ``member.import`` takes only the documented caption form ``{"datakey": …, "mode":
  "set"}`` (confirmed), with ``member.email`` and ``anketa.<anketa>.<quest>`` datakeys whose
  anketa and quest were created (else ``error/anketa/not_exists`` /
  ``error/anketa/quest/not_exists``); it adds the members to the group in ``auto_group.id``
  (values kept as ``"<anketa>.<quest>"``) and answers a done track;
- ``issue.send`` to a list group renders ``[% anketa.mailforge.key %]`` for every member
  (``fake.mass_issues``): in the HTML the value is HTML-escaped, as Sendsay's template
  language does (confirmed); in the subject it is put as it is (unknown at Sendsay). It
  answers ``{"track.id", "issue.id"}`` with a track that runs once (``fake.mass_track``) and
  then is done; ``fake.issue_id_in = "track"`` moves ``issue.id`` into the track's ``obj``,
  ``None`` drops it;
- ``stat.uni`` filtered on ``deliv.issue.id`` answers ``{"list": [[…select values…]]}``
  paged by ``first``/``skip``; it knows only the fields in ``fake.stat_fields``
  (``deliv.member.email``, ``deliv.result``, ``deliv.error``) and answers
  ``error/stat/unknown_field`` for any other (remove ``deliv.error`` to emulate an account
  without it). Each member's ``deliv.result`` is scripted with
  ``fake.deliv_result(email, "-1", "550 no such user")`` ("1" by default) and held at "0"
  for ``fake.report_late(email, times)`` reads.

More actions plug in through ``fake.handlers[action] = callable(body) -> answer``.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import itertools
import json
import re
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
class MassIssue:
    id: int
    group: str
    letter: dict[str, Any]
    letters: dict[str, dict[str, str]]  # email -> rendered subject and html


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
            "group.create": self.group_create,
            "group.delete": self.group_delete,
            "member.import": self.member_import,
            "anketa.create": self.anketa_create,
            "anketa.quest.add": self.anketa_quest_add,
            "stat.uni": self.stat_uni,
        }
        self.issues: list[dict[str, Any]] = []
        self.mass_issues: list[MassIssue] = []
        self.mass_track = [1, -1]  # track.get answers of a mass send, in turn
        self.issue_id_in: str | None = "answer"  # or "track" (its obj), or None (nowhere)
        self.anketas: dict[str, dict[str, dict[str, Any]]] = {}  # id -> quests by id
        self.stat_fields = {"deliv.member.email", "deliv.result", "deliv.error"}
        self._track_obj: dict[int, dict[str, Any]] = {}
        self._deliv: dict[str, tuple[str, str | None]] = {}
        self._late: defaultdict[str, int] = defaultdict(int)
        self._stat_reads = 0
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

    def add_track(self, statuses: list[int], **obj: Any) -> int:
        """A long action whose ``track.get`` answers these statuses in turn (the last stays),
        with ``obj`` beside the status in every answer."""
        track_id = next(self._track_ids)
        self.tracks[track_id] = deque(statuses)
        self._track_obj[track_id] = obj
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
        extra = self._track_obj.get(int(body["id"]), {})
        return {"obj": {**extra, "id": body["id"], "status": status}}

    def deliv_result(self, email: str, result: str, error: str | None = None) -> None:
        """What ``stat.uni`` reports for ``email`` in every mass send (default "1")."""
        self._deliv[email.lower()] = (result, error)

    def report_late(self, email: str, times: int) -> None:
        """``stat.uni`` reports ``email`` as "0" (not final) this many times first."""
        self._late[email.lower()] = times

    def group_create(self, body: dict[str, Any]) -> Answer:
        group_id = str(body.get("id", ""))
        if group_id in self.groups:
            return _errors("error/group/exists", group_id)
        if body.get("type") != "list" or not group_id:
            return _errors("error/group/invalid", body)
        self.add_group(group_id, str(body.get("name", group_id)))
        return {}

    def group_delete(self, body: dict[str, Any]) -> Answer:
        if self.groups.pop(str(body.get("id")), None) is None:
            return _errors("error/group/not_found", body.get("id"))
        return {}

    def anketa_create(self, body: dict[str, Any]) -> Answer:
        anketa = str(body.get("id") or "")
        if not anketa or not body.get("name"):
            return _errors("error/anketa/invalid", body)
        if anketa in self.anketas:
            return _errors("error/anketa/already_exists", anketa)
        self.anketas[anketa] = {}
        return {}

    def anketa_quest_add(self, body: dict[str, Any]) -> Answer:
        quests = self.anketas.get(str(body.get("anketa.id")))
        if quests is None:
            return _errors("error/anketa/not_exists", body.get("anketa.id"))
        obj = body.get("obj")
        given = obj if isinstance(obj, list) else [obj]
        added = [q for q in given if isinstance(q, dict) and q.get("id") and q.get("type")]
        if not added or len(added) != len(given):
            return _errors("error/anketa/quest/invalid", obj)
        if any(str(q["id"]) in quests for q in added):
            return _errors("error/anketa/quest/already_exists", obj)
        quests.update({str(q["id"]): dict(q) for q in added})
        return {}

    def member_import(self, body: dict[str, Any]) -> Answer:
        users = body.get("users.list") or {}
        caption, rows = users.get("caption") or [], users.get("rows") or []
        group = self.groups.get(str((body.get("auto_group") or {}).get("id")))
        if group is None:
            return _errors("error/group/not_found", body.get("auto_group"))
        keys = []
        for column in caption:  # only the documented form: {"datakey": …, "mode": "set"}
            if not isinstance(column, dict) or set(column) != {"datakey", "mode"}:
                return _errors("error/users.list/caption/invalid", column)
            if column["mode"] != "set":
                return _errors("error/users.list/caption/mode", column)
            key, problem = self._datakey(str(column["datakey"]))
            if problem is not None:
                return problem
            keys.append(key)
        if "member.email" not in keys:
            return _errors("error/users.list/no_email", caption)
        known = {m["email"]: m for m in group.members}
        for row in rows:
            if len(row) != len(keys):
                return _errors("error/users.list/row", row)
            values = dict(zip(keys, row, strict=True))
            email = str(values.pop("member.email")).lower()
            known.setdefault(email, {"email": email}).update(values)
        group.members = list(known.values())
        return {"track.id": self.add_track([-1])}

    def _datakey(self, datakey: str) -> tuple[str, Answer | None]:
        """``member.email`` or ``anketa.<anketa>.<quest>`` (both created) as a member key."""
        if datakey == "member.email":
            return datakey, None
        parts = datakey.split(".")
        if len(parts) != 3 or parts[0] != "anketa":
            return datakey, _errors("error/users.list/datakey", datakey)
        quests = self.anketas.get(parts[1])
        if quests is None:
            return datakey, _errors("error/anketa/not_exists", parts[1])
        if parts[2] not in quests:
            return datakey, _errors("error/anketa/quest/not_exists", datakey)
        return f"{parts[1]}.{parts[2]}", None

    def mass_send(self, body: dict[str, Any]) -> Answer:
        group = self.groups.get(str(body.get("group")))
        if group is None:
            return _errors("error/group/not_found", body.get("group"))
        letter = body.get("letter") or {}
        issue = MassIssue(len(self.mass_issues) + 1001, group.id, letter, {})
        html = str((letter.get("message") or {}).get("html", ""))
        for member in group.members:
            issue.letters[member["email"]] = {
                "subject": _personal(str(letter.get("subject", "")), member, escape=False),
                "html": _personal(html, member, escape=True),
            }
        self.mass_issues.append(issue)
        in_track = {"issue.id": issue.id} if self.issue_id_in == "track" else {}
        answer: Answer = {"track.id": self.add_track(list(self.mass_track), **in_track)}
        if self.issue_id_in == "answer":
            answer["issue.id"] = issue.id
        return answer

    def stat_uni(self, body: dict[str, Any]) -> Answer:
        unknown = [name for name in body.get("select") or [] if name not in self.stat_fields]
        if unknown:
            return _errors("error/stat/unknown_field", unknown)
        wanted = [
            str(f.get("v")) for f in body.get("filter") or [] if f.get("a") == "deliv.issue.id"
        ]
        issues = [i for i in self.mass_issues if str(i.id) in wanted]
        if not issues:
            return {"list": []}
        rows = []
        emails = list(issues[0].letters)
        if body.get("order") == ["deliv.member.email"]:
            emails.sort()
        elif self._stat_reads % 2:  # Sendsay: without an order, "each time differently"
            emails.reverse()
        self._stat_reads += 1
        for email in emails:
            result, error = self._deliv.get(email, ("1", None))
            if self._late[email] > 0:
                self._late[email] -= 1
                result, error = "0", None
            fields = {"deliv.member.email": email, "deliv.result": result, "deliv.error": error}
            rows.append([fields.get(name) for name in body.get("select") or []])
        skip, first = int(body.get("skip", 0)), int(body.get("first", len(rows)))
        return {"list": rows[skip : skip + first]}

    def issue_send(self, body: dict[str, Any]) -> Answer:
        if body.get("group") not in ("personal", "masssending"):
            return self.mass_send(body)
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


def _personal(text: str, member: dict[str, Any], *, escape: bool) -> str:
    """Sendsay-style personalisation of the fake: ``[% anketa.mailforge.key %]``, the value
    HTML-escaped when ``escape`` (Sendsay does so unless ``| mark_raw``)."""

    def value(match: re.Match[str]) -> str:
        text = str(member.get(f"{match.group(1)}.{match.group(2)}", ""))
        return html.escape(text) if escape else text

    return re.sub(r"\[%\s*anketa\.(\w+)\.(\w+)\s*%\]", value, text)


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
