"""The state of a fake Sendsay account and its actions, as ``/work/shared/SENDSAY.md`` has them.

Confirmed shapes are enforced (anything they rule out is refused with an error); what the
document lists as unknown is a knob in ``Variants`` so that tests can run the adapter
against each plausible answer. Error ids the document does not confirm are made up here on
purpose so that nothing can depend on them: "already exists" answers never contain
"exist", and "not found" answers other than ``group_id_not_exists`` are arbitrary.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

Answer = dict[str, Any]
DONE, ERROR, CANCELLED, LATER, MODERATION, NOT_MODERATED = "-1", "-2", "-3", "-4", "-5", "-6"
# Ids made up for what SENDSAY.md says is undocumented; none contains "exist".
TAKEN = {
    "group": "error/group/id_taken",
    "anketa": "error/anketa/id_busy",
    "quest": "error/anketa/quest/duplicate",
}
ANKETA_MISSING = "error/anketa/unknown"
GROUP_MISSING = "group_id_not_exists"  # seen in production (SENDSAY.md)
_ID = re.compile(
    r"^[A-Za-z0-9_]+$"
)  # group ids: letters, digits, underscore (hyphens unconfirmed)
_PROSCRIPT = re.compile(r"\[%(.*?)%\]", re.S)
_FIELD = re.compile(r"^\s*anketa\.(\w+)\.(\w+)\s*$")
# Per-issue exclusion counters (SENDSAY.md): excluded addresses get no deliv row.
EXCLUSIONS = (
    "issue.stoplist",
    "issue.lockunsub",
    "issue.hardbounce",
    "issue.lockconfirm",
    "issue.double",
    "issue.wrongline",
)


def error(error_id: str, explain: Any = None) -> Answer:
    return {"errors": [{"id": error_id, "explain": explain}]}


class TemplateError(Exception):
    """A ``[% … %]`` the fake cannot run (Sendsay would fail the issue)."""


@dataclass
class Variants:
    """Every answer SENDSAY.md lists as unknown, set to one plausible variant."""

    error_status: int = 200  # HTTP status of an answer carrying errors
    single_error: bool = False  # {"error": {…}} instead of {"errors": [{…}]}
    personal_answer: str = "track"  # personal issue.send: "track" ({track.id}) or "bare"
    import_answer: str = "track"  # member.import: "track" or "bare" ({})
    issue_id_in: str | None = None  # mass issue id in track.get: None, "obj" or "param"
    issue_listed_after: int = 0  # stat.uni finds an issue by name after this many misses
    deliv_fields: frozenset[str] = frozenset(
        {"deliv.member.email", "deliv.issue.id", "deliv.status", "deliv.result", "deliv.error"}
    )
    member_rows: str = "nested"  # member.list rows with datakey: "nested", "flat", "ordered"


@dataclass
class Group:
    id: str
    name: str
    emails: list[str] = field(default_factory=list)  # in the order they joined
    type: str = "list"


@dataclass
class Issue:
    id: int
    name: str
    group: str
    letter: dict[str, Any]
    relink: Any
    track: int
    audience: list[str]  # who gets a letter (a deliv row)
    excluded: dict[str, list[str]]  # counter -> addresses left out
    letters: dict[str, dict[str, str]] = field(default_factory=dict)  # email -> rendered
    done: bool = False


@dataclass
class Track:
    statuses: deque[str]
    obj: dict[str, Any]
    issue: Issue | None = None
    served: list[str] = field(default_factory=list)  # every status answered, in order


class FakeAccount:
    def __init__(self) -> None:
        self.variants = Variants()
        self.groups: dict[str, Group] = {}
        self.anketas: dict[str, dict[str, Any]] = {}  # id -> {"name", "quests": {id: {…}}}
        self.members: dict[str, dict[str, str]] = {}  # email -> {"<anketa>.<quest>": value}
        self.senders: dict[str, str] = {}  # from.email -> confirmed | onmoderation | prohibited
        self.excluded: dict[str, str] = {}  # email -> exclusion counter (stop-list, …)
        # Unknown (SENDSAY.md): the error a personal send to an unusable address gets.
        self.refusals: dict[str, str] = {}  # email -> error id
        self.tracks: dict[int, Track] = {}
        self.issues: list[dict[str, Any]] = []  # accepted personal sends (request bodies)
        self.personal_letters: list[dict[str, str]] = []  # …and what each recipient got
        self.mass_issues: list[Issue] = []
        self.mass_track = ["1", MODERATION, DONE]  # track.get of a mass send, in turn
        self.results: dict[str, tuple[str, str | None]] = {}  # email -> deliv.result, error
        self.late: dict[str, int] = {}  # email -> reads answered "0" first
        self._track_ids = itertools.count(1)
        self._issue_ids = itertools.count(1001)
        self._requests = itertools.count(1)

    # ------------------------------------------------------------------ scripting
    def add_track(self, statuses: list[str], **obj: Any) -> int:
        track_id = next(self._track_ids)
        self.tracks[track_id] = Track(deque(str(s) for s in statuses), obj)
        return track_id

    def request_id(self) -> str:
        return f"req-{next(self._requests)}"

    # ------------------------------------------------------------------ groups
    def group_list(self, body: Answer) -> Answer:
        return {"list": [self._group_obj(g) for g in self.groups.values()]}

    def group_get(self, body: Answer) -> Answer:
        group = self.groups.get(str(body.get("id")))
        return {"obj": self._group_obj(group)} if group else error(GROUP_MISSING, body.get("id"))

    def group_create(self, body: Answer) -> Answer:
        group_id = str(body.get("id") or "")
        if not _ID.match(group_id):
            return error("error/group/id_invalid", group_id)
        if body.get("type") != "list" or body.get("addr_type") != "email" or not body.get("name"):
            return error("error/group/params", body)
        if group_id in self.groups:
            return error(TAKEN["group"], group_id)
        self.groups[group_id] = Group(group_id, str(body["name"]))
        return {}

    def group_delete(self, body: Answer) -> Answer:
        if self.groups.pop(str(body.get("id")), None) is None:
            return error(GROUP_MISSING, body.get("id"))
        return {}

    @staticmethod
    def _group_obj(group: Group) -> Answer:
        return {"id": group.id, "name": group.name, "type": group.type, "addr_type": "email"}

    # ------------------------------------------------------------------ anketas
    def anketa_list(self, body: Answer) -> Answer:
        return {"list": [{"id": a, "name": d["name"]} for a, d in self.anketas.items()]}

    def anketa_get(self, body: Answer) -> Answer:
        anketa = self.anketas.get(str(body.get("id")))
        if anketa is None:
            return error(ANKETA_MISSING, body.get("id"))
        quests = anketa["quests"]
        obj = {"id": body["id"], "name": anketa["name"], "param": {}, "order": list(quests)}
        return {"obj": {**obj, "quests": {q: dict(v) for q, v in quests.items()}}}

    def anketa_create(self, body: Answer) -> Answer:
        anketa = str(body.get("id") or "")
        if not _ID.match(anketa) or not body.get("name"):
            return error("error/anketa/params", body)
        if anketa in self.anketas:
            return error(TAKEN["anketa"], anketa)
        self.anketas[anketa] = {"name": str(body["name"]), "quests": {}}
        return {}

    def anketa_quest_add(self, body: Answer) -> Answer:
        anketa = self.anketas.get(str(body.get("anketa.id")))
        if anketa is None:
            return error(ANKETA_MISSING, body.get("anketa.id"))
        given = body.get("obj") if isinstance(body.get("obj"), list) else [body.get("obj")]
        ok = all(isinstance(q, dict) and _ID.match(str(q.get("id", ""))) for q in given)
        if not given or not ok or any(q.get("type") != "free" for q in given):
            return error("error/anketa/quest/params", body.get("obj"))
        if any(str(q["id"]) in anketa["quests"] for q in given):
            return error(TAKEN["quest"], body.get("obj"))  # and none is added
        anketa["quests"].update({str(q["id"]): dict(q) for q in given})
        return {}

    def add_anketa(self, anketa: str, name: str, quests: list[str]) -> None:
        q = {quest: {"id": quest, "name": quest, "type": "free"} for quest in quests}
        self.anketas[anketa] = {"name": name, "quests": q}

    # ------------------------------------------------------------------ members
    def member_import(self, body: Answer) -> Answer:
        users = body.get("users.list")
        if not isinstance(users, dict):
            return error("error/users.list/format", users)
        caption, rows = users.get("caption") or [], users.get("rows") or []
        if body.get("if_exists", "overwrite") not in ("overwrite", "ignore", "error"):
            return error("error/if_exists", body.get("if_exists"))
        if body.get("addr_type", "email") != "email":
            return error("error/addr_type", body.get("addr_type"))
        group = self.groups.get(str((body.get("auto_group") or {}).get("id")))
        if body.get("auto_group") is not None and group is None:
            return error(GROUP_MISSING, body.get("auto_group"))
        keys = []
        for column in caption:
            if not isinstance(column, dict) or set(column) != {"datakey", "mode"}:
                return error("error/users.list/caption", column)
            if column["mode"] != "set":
                return error("error/users.list/caption/mode", column)
            problem = self._datakey_problem(str(column["datakey"]))
            if problem is not None:
                return problem
            keys.append(str(column["datakey"]))
        if "member.email" not in keys:
            return error("error/users.list/no_email", caption)
        for row in rows:
            if not isinstance(row, list) or len(row) != len(keys):
                return error("error/users.list/row", row)
            values = {k: "" if v is None else str(v) for k, v in zip(keys, row, strict=True)}
            email = values.pop("member.email").strip().lower()
            data = self.members.setdefault(email, {})
            if body.get("if_exists") != "ignore" or not data:
                data.update(values)
            if group is not None and email not in group.emails:
                group.emails.append(email)
        if self.variants.import_answer == "bare":
            return {}
        return {"track.id": self.add_track(["0", DONE]), "request.id": self.request_id()}

    def _datakey_problem(self, datakey: str) -> Answer | None:
        """``member.email`` or ``<anketa>.<quest>`` of an anketa and quest that exist. The
        ``anketa.`` prefix belongs to the template language only: here it names an anketa
        called "anketa", which does not exist."""
        if datakey == "member.email":
            return None
        anketa, _, quest = datakey.partition(".")
        if anketa not in self.anketas or not quest or "." in quest:
            return error("error/datakey/unknown", datakey)
        if quest not in self.anketas[anketa]["quests"]:
            return error("error/datakey/unknown", datakey)
        return None

    def member_list(self, body: Answer) -> Answer:
        group = self.groups.get(str(body.get("group")))
        if group is None:
            return error(GROUP_MISSING, body.get("group"))
        page, size = int(body.get("page", 1)), int(body.get("pagesize", 100))
        chunk = group.emails[(page - 1) * size : page * size]
        datakey = body.get("datakey")
        if not datakey:  # without datakeys: e-mails only
            return {"list": chunk, "page": page, "pagesize": size}
        wanted = [datakey] if isinstance(datakey, str) else [str(d) for d in datakey]
        rows = [self._member_data(email, wanted) for email in chunk]
        if self.variants.member_rows == "ordered":
            columns = sorted({k for row in rows for k in row} - {"member.email"})
            order = [{"quest": c} for c in ["member.email", *columns]]
            values = [[row.get(c.get("quest", ""), "") for c in order] for row in rows]
            return {"list": values, "order": order, "page": page, "pagesize": size}
        if self.variants.member_rows == "nested":
            rows = [_nest(row) for row in rows]
        return {"list": rows, "page": page, "pagesize": size}

    def _member_data(self, email: str, wanted: list[str]) -> dict[str, str]:
        data = self.members.get(email, {})
        every = "*" in wanted
        picked = {
            k: v for k, v in data.items() if every or k in wanted or k.partition(".")[0] in wanted
        }
        return {"member.email": email, **picked}

    # ------------------------------------------------------------------ sending
    def issue_send(self, body: Answer) -> Answer:
        letter = body.get("letter")
        problem = self._letter_problem(letter) or self._when_problem(body)
        if problem is not None:
            return problem
        assert isinstance(letter, dict)
        if body.get("group") == "personal":
            return self._personal(body, letter)
        if body.get("group") == "masssending":
            return error("error/fake/unsupported", "users.list sends are not emulated")
        return self._mass(body, letter)

    def _letter_problem(self, letter: Any) -> Answer | None:
        if not isinstance(letter, dict) or not letter.get("subject"):
            return error("error/letter/subject", letter)
        message = letter.get("message")
        if not isinstance(message, dict) or not (message.get("html") or message.get("text")):
            return error("error/letter/message", letter)
        sender = str(letter.get("from.email") or "").lower()
        state = self.senders.get(sender, "unknown")
        if state != "confirmed":  # no default sender: every documented send names one
            return error(f"error/sender/{state}", sender)
        return None

    @staticmethod
    def _when_problem(body: Answer) -> Answer | None:
        return None if body.get("sendwhen") == "now" else error("error/sendwhen", body)

    def _personal(self, body: Answer, letter: dict[str, Any]) -> Answer:
        email = str(body.get("email") or "").strip().lower()
        if "@" not in email:
            return error("error/email/syntax", email)
        if email in self.refusals:
            return error(self.refusals[email], email)
        try:
            rendered = self._render(letter, email)
        except TemplateError as exc:
            return error("error/letter/template", str(exc))
        if email in self.excluded:  # Sendsay accepts the send and leaves the address out
            rendered = {}
        self.issues.append(body)
        self.personal_letters.append({"email": email, **rendered})
        answer: Answer = {"request.id": self.request_id()}
        if self.variants.personal_answer == "track":
            answer["track.id"] = self.add_track([DONE])
        return answer

    def _mass(self, body: Answer, letter: dict[str, Any]) -> Answer:
        group = self.groups.get(str(body.get("group")))
        if group is None:
            return error(GROUP_MISSING, body.get("group"))
        audience = [e for e in group.emails if e not in self.excluded]
        excluded: dict[str, list[str]] = {counter: [] for counter in EXCLUSIONS}
        for email in group.emails:
            if email in self.excluded:
                excluded[self.excluded[email]].append(email)
        track_id = self.add_track(list(self.mass_track))
        issue = Issue(
            next(self._issue_ids),
            str(body.get("name") or ""),
            group.id,
            letter,
            body.get("relink"),
            track_id,
            audience,
            excluded,
        )
        track = self.tracks[track_id]
        track.issue = issue
        try:
            issue.letters = {email: self._render(letter, email) for email in audience}
        except TemplateError:
            track.statuses = deque(["1", ERROR])  # Sendsay fails an issue it cannot render
        if self.variants.issue_id_in == "obj":
            track.obj["issue.id"] = issue.id
        elif self.variants.issue_id_in == "param":
            track.obj["param"] = {"issue.id": issue.id, "group": group.id}
        self.mass_issues.append(issue)
        return {"track.id": track_id, "request.id": self.request_id()}  # no issue.id

    def _render(self, letter: dict[str, Any], email: str) -> dict[str, str]:
        """The letter as ``email`` gets it: PROScript values HTML-escaped in the HTML part
        (confirmed), as they are in the subject and the text part (unknown)."""
        data = self.members.get(email, {})
        message = letter.get("message") or {}
        return {
            "subject": _run(str(letter.get("subject", "")), data, escape=False),
            "html": _run(str(message.get("html") or ""), data, escape=True),
            "text": _run(str(message.get("text") or ""), data, escape=False),
        }

    def track_get(self, body: Answer) -> Answer:
        try:
            track = self.tracks[int(str(body.get("id")))]
        except (KeyError, ValueError):
            return error("error/track/unknown", body.get("id"))
        status = track.statuses.popleft() if len(track.statuses) > 1 else track.statuses[0]
        track.served.append(status)
        if track.issue is not None and status == DONE:
            track.issue.done = True
        return {"obj": {**track.obj, "id": body["id"], "status": status}}  # a string


def _run(template: str, data: dict[str, str], *, escape: bool) -> str:
    def value(match: re.Match[str]) -> str:
        found = _FIELD.match(match.group(1))
        if found is None:
            raise TemplateError(match.group(0))
        text = data.get(f"{found.group(1)}.{found.group(2)}", "")
        return html.escape(text) if escape else text

    return _PROSCRIPT.sub(value, template)


def _nest(row: dict[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {"member": {"email": row["member.email"]}}
    for key, value in row.items():
        anketa, _, quest = key.partition(".")
        if anketa != "member":
            nested.setdefault(anketa, {})[quest] = value
    return nested
