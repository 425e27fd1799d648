"""Sendsay mass sends: one issue to a per-run group, per-recipient results from statistics.

Implements ``domain.ports.MassSendChannel`` for ``domain/usecases/bulk_send.py``. The
Sendsay API calls, and how sure we are of each (keep ``tests/fakes/sendsay.py`` in step):

Confirmed by Sendsay's docs (docs.sendsay.ru "Как получить статистику через API") and by
public client code calling the real API:

* ``issue.send`` with ``"sendwhen": "now"`` and a ``letter`` (``subject``, ``from.email``,
  ``from.name``, ``message.html``) sends to a ``group`` (``personal`` + ``email`` for one
  address; ``masssending`` + ``users.list`` for an inline list); long actions answer
  ``{"track.id": N}``, polled with ``track.get`` (``obj.status``: -1 done, -2 error, …);
* ``stat.uni`` with ``select`` (``deliv.member.email``, ``deliv.status``, …), ``filter``
  ``[{"a": "deliv.issue.id", "op": "==", "v": "<id>"}]``, paging by ``first``/``skip``,
  ``order`` (without it rows come "each time in a different order", so paging needs it),
  ``missing_too: 1`` and ``result: "response"`` answers ``{"list": [[v1, v2, …], …]}``,
  each row's values in ``select`` order; ``deliv.status`` "1" is delivered, "0" not yet
  final, "-1" not delivered (as read by a client in production).

Assumed (not confirmed; each in one place below so that a correction is one line):

* ``group.create`` with ``id``, ``name``, ``type: "list"``, ``addr_type: "email"``, and
  ``group.delete`` with ``id``; an id with ``exists`` means it is already there;
* ``member.import`` with ``users.list: {"caption": [{"anketa", "quest"}…], "rows": […]}``,
  ``if_exists: "overwrite"``, ``newbie.confirm: 0`` and ``auto_group: {"id": <group>}``
  answering ``{"track.id": N}``; the member data land in the anketa ``mailforge``;
* ``issue.send`` to a list group answers ``issue.id`` next to ``track.id``;
* Sendsay's personalisation ``[% anketa.mailforge.<key> %]`` inserts the member's value
  as it is (so we HTML-escape values before the push, as our own renderer does);
* ``deliv.error`` as the reason column, and the negative ``deliv.status`` codes in
  ``STATUS_OUTCOMES`` (-2 hard bounce, -3 unsubscribed or stop-listed → refused).

Personalisation: rather than rendering each recipient's letter (impossible with one
issue), a template whose placeholders are all plain ``{{ key }}`` is translated to
Sendsay's ``[% anketa.mailforge.key %]`` and each member carries its values. A template
with logic (``{% if %}``, filters) has no safe Sendsay equivalent: ``can_mass_send`` says
no and the run goes out one personal send per recipient, rendered by our own renderer.

Errors become ``BulkSendError``: auth errors are permanent with a reason naming the
settings to check; rate limits, 5xx and connections refused are ``retry``; a timeout or a
connection lost after ``issue.send`` left is permanent "uncertain" (never sent twice).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from typing import Any

from domain.bulk import BulkMember, BulkSendError, BulkStatus
from domain.delivery import Outcome, RunContent
from infrastructure.channels.sendsay import letter_of, sent_uncertain
from infrastructure.sendsay.client import TRACK_SETTLED, SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError

ANKETA = "mailforge"  # assumed: where member data for personalisation is kept
REPORT_SELECT = ["deliv.member.email", "deliv.status", "deliv.error"]  # deliv.error: assumed
STATUS_OUTCOMES = {"1": Outcome.delivered, "-1": Outcome.failed, "-2": Outcome.refused}
STATUS_OUTCOMES["-3"] = Outcome.refused  # assumed: unsubscribed or stop-listed
STATUS_REASONS = {"-1": "soft bounce", "-2": "hard bounce", "-3": "unsubscribed or stop-listed"}
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]|[%}]\}")
AUTH_HINT = "check SENDSAY_ACCOUNT and SENDSAY_API_KEY"


def group_id(run_id: int) -> str:
    return f"mailforge-run-{run_id}"


def to_sendsay(template: str) -> str:
    """``{{ key }}`` → ``[% anketa.mailforge.key %]``."""
    return _PLACEHOLDER.sub(lambda m: f"[% anketa.{ANKETA}.{m.group(1)} %]", template)


class SendsayMassSender:
    """Uses ``client`` (owned by ``SendsayChannel``, which closes it)."""

    def __init__(
        self,
        client: SendsayClient,
        *,
        sender: str,
        track_poll: float = 2.0,
        track_timeout: float = 600.0,
    ) -> None:
        self._client = client
        self._from_name, self._from_email = parseaddr(sender)
        self._track_poll, self._track_timeout = track_poll, track_timeout
        self._groups: set[str] = set()

    def can_mass_send(self, content: RunContent) -> bool:
        texts = (content.body, content.subject or "")
        return not any(_TEMPLATE_SYNTAX.search(_PLACEHOLDER.sub("", t)) for t in texts)

    async def push_members(
        self, run_id: int, content: RunContent, members: Sequence[BulkMember]
    ) -> None:
        group = await self._group(run_id)
        keys = sorted({key for member in members for key in member.values})
        caption = [{"anketa": "member", "quest": "email"}]
        caption += [{"anketa": ANKETA, "quest": key} for key in keys]
        rows = [[m.address, *(html.escape(m.values.get(k, "")) for k in keys)] for m in members]
        answer = await self._call(
            "member.import",
            **{"users.list": {"caption": caption, "rows": rows}},
            if_exists="overwrite",
            addr_type="email",
            auto_group={"id": group},
            **{"newbie.confirm": 0},
        )
        if answer.get("track.id") not in (None, ""):
            await self._wait(answer["track.id"])

    async def mass_send(self, run_id: int, content: RunContent) -> dict[str, Any]:
        subject = to_sendsay(content.subject or content.mailing_name)
        letter = letter_of(subject, to_sendsay(content.body), self._from_name, self._from_email)
        answer = await self._call(
            "issue.send", group=group_id(run_id), sendwhen="now", letter=letter
        )
        return {
            "group": group_id(run_id),
            "track": answer.get("track.id"),
            "issue": answer.get("issue.id"),
        }

    async def settled(self, ref: Mapping[str, Any]) -> bool:
        if ref.get("track") in (None, ""):
            return True
        answer = await self._call("track.get", id=ref["track"])
        status = int((answer.get("obj") or {}).get("status", 0))
        if status in TRACK_SETTLED:
            return True
        if status < 0:
            reason = f"Sendsay could not send the issue (track status {status})"
            raise BulkSendError(reason, retry=False)
        return False

    async def report(self, ref: Mapping[str, Any], offset: int, limit: int) -> list[BulkStatus]:
        if ref.get("issue") in (None, ""):
            raise BulkSendError("Sendsay gave no issue id for the mass send", retry=False)
        answer = await self._call(
            "stat.uni",
            select=REPORT_SELECT,
            filter=[{"a": "deliv.issue.id", "op": "==", "v": str(ref["issue"])}],
            order=["deliv.member.email"],  # without an order, pages may overlap
            first=limit,
            skip=offset,
            missing_too=1,
            result="response",
        )
        return [status_of(row) for row in answer.get("list") or []]

    async def forget(self, run_id: int) -> None:
        self._groups.discard(group_id(run_id))
        await self._call("group.delete", id=group_id(run_id))

    async def _group(self, run_id: int) -> str:
        group = group_id(run_id)
        if group not in self._groups:
            try:
                await self._client.request(
                    "group.create",
                    id=group,
                    name=f"MailForge run {run_id}",
                    type="list",
                    addr_type="email",
                )
            except SendsayError as exc:
                if "exist" not in exc.error_id:  # assumed id for "already there"
                    raise bulk_error(exc, "group.create") from exc
            self._groups.add(group)
        return group

    async def _wait(self, track: Any) -> None:
        try:
            await self._client.wait_track(
                track, poll_interval=self._track_poll, timeout=self._track_timeout
            )
        except SendsayError as exc:
            raise bulk_error(exc, "track.get") from exc

    async def _call(self, action: str, /, **params: Any) -> dict[str, Any]:
        try:
            return await self._client.request(action, **params)
        except SendsayError as exc:
            raise bulk_error(exc, action) from exc
        except Exception as exc:  # anything else is a bug or a surprise: stop, say what
            raise BulkSendError(f"{action}: {type(exc).__name__}: {exc}", retry=False) from exc


def bulk_error(exc: SendsayError, action: str) -> BulkSendError:
    if isinstance(exc, SendsayAuthError):
        return BulkSendError(f"Sendsay refused our credentials ({exc}); {AUTH_HINT}", retry=False)
    if isinstance(exc, SendsayTransientError):
        uncertain = sent_uncertain(exc) if action == "issue.send" else None
        if uncertain is not None:
            return BulkSendError(uncertain, retry=False)
        return BulkSendError(str(exc), retry=True, retry_after=exc.retry_after)
    return BulkSendError(str(exc), retry=False)


def status_of(row: Any) -> BulkStatus:
    """A ``stat.uni`` row (values in ``REPORT_SELECT`` order) as a recipient's status."""
    values = list(row) if isinstance(row, list | tuple) else [row]
    email, status, error = [*values, None, None, None][:3]
    code = "" if status is None else str(status).strip()
    if code in ("", "0"):
        return BulkStatus(str(email or ""), None)
    outcome = STATUS_OUTCOMES.get(code, Outcome.failed)
    if outcome is Outcome.delivered:
        return BulkStatus(str(email), outcome)
    reason = STATUS_REASONS.get(code, f"status {code}")
    detail = f"sendsay: {reason}" + (f": {error}" if error not in (None, "") else "")
    return BulkStatus(str(email), outcome, detail)
