"""Sendsay mass sends: one issue to a per-run group, per-recipient results from statistics.

Implements ``domain.ports.MassSendChannel`` for ``domain/usecases/bulk_send.py``. The
Sendsay API calls, and how sure we are of each (keep ``tests/fakes/sendsay.py`` in step):

Confirmed by Sendsay's docs (docs.sendsay.ru "Как получить статистику через API"; the
sendsay-ru/sendsay-docs repository) and by public client code calling the real API:

* ``issue.send`` with ``"sendwhen": "now"`` and a ``letter`` (``subject``, ``from.email``,
  ``from.name``, ``message.html``) sends to a ``group`` (``personal`` + ``email`` for one
  address; ``masssending`` + ``users.list`` for an inline list); long actions answer
  ``{"track.id": N}``, polled with ``track.get`` ``{id}``: ``obj.status`` -1 done, -2
  error, -3 cancelled, -4 postponed, -5 on moderation, -6 not moderated, 0…6 running (the
  official clients' list; ``client.TRACK_SETTLED`` counts -1/-4/-5 as settled, the other
  negatives fail the send for good);
* ``stat.uni`` with ``select``, ``filter`` ``[{"a": "deliv.issue.id", "op": "==", "v":
  "<id>"}]``, paging by ``first``/``skip``, ``order`` (without it rows come "each time in
  a different order", so paging needs it), ``missing_too: 1`` and ``result: "response"``
  answers ``{"list": [[v1, v2, …], …]}``, each row's values in ``select`` order;
  ``deliv.result`` "1" is delivered, "0" not yet final, "-1" not delivered (the field and
  its codes as a third-party client reads them in production, not from Sendsay's docs;
  see ``RESULT_OUTCOMES``);
* ``member.import`` takes ``users.list: {"caption": [{"datakey": "member.email", "mode":
  "set"}, …], "rows": [[…], …]}`` with ``charset`` and ``addr_type`` beside it
  (sendsay-docs ``docs/ecom/how-to-configure-data-transfer.md``); our values go in
  ``{"datakey": "anketa.mailforge.<key>", "mode": "set"}`` columns;
* Sendsay's template language HTML-escapes a variable unless it is filtered through
  ``mark_raw`` (sendsay-docs ``docs/proscript/filters-in-proscript.md``), and reads member
  data as ``[% anketa.<anketa>.<quest> %]`` (``docs/proscript/access-to-data.md``): so the
  values are pushed as they are, never escaped by us (that would escape them twice).

Assumed (not confirmed; each in one place below so that a correction is one line):

* ``group.create`` with ``id``, ``name``, ``type: "list"``, ``addr_type: "email"``, and
  ``group.delete`` with ``id``;
* that an error id with ``exist`` (not negated: ``…not_exists`` is *missing*) means the
  group, anketa or quest is already there (``errors.means_already_exists``);
* the anketa ``mailforge`` and one ``free`` quest per placeholder are created before the
  push (``anketa.create`` with ``id``/``name``; ``anketa.quest.add`` with ``anketa.id``
  and ``obj: [{"id", "name", "type": "free"}]``), as third-party clients do; member data
  for a quest that does not exist would have nowhere to land;
* in ``member.import``: ``auto_group: {"id": <group>}``, ``if_exists: "overwrite"`` and
  ``newbie.confirm: 0`` (third-party code only), and an answer ``{"track.id": N}``;
* ``issue.send`` to a list group answers ``issue.id`` next to ``track.id``; when it does
  not, the finished ``track.get`` is searched for it (``obj["issue.id"]`` or
  ``obj.issue.id``) before the report gives up with a permanent error;
* ``deliv.error`` as a reason column: asked for, but a report never depends on it (a row
  without it is read; should ``stat.uni`` refuse the column, the report is read again
  without it and it is not asked for again); result codes other than 1/0/-1 (no evidence
  for -2, -3…) are failures with their code; a non-delivery is refused (and the address
  suppressed) only when its reason is the receiving server's permanent SMTP reply
  (``5xx`` / ``5.x.x``), as ``SmtpChannel`` reads such a reply;
* the subject goes through the same ``[% anketa… %]`` translation; whether Sendsay
  escapes values in a subject as it does in HTML is unknown.

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

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from email.utils import parseaddr
from typing import Any

from domain.bulk import BulkMember, BulkSendError, BulkStatus
from domain.delivery import Outcome, RunContent
from infrastructure.channels.sendsay import letter_of, sent_uncertain
from infrastructure.sendsay.client import TRACK_SETTLED, SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError

ANKETA = "mailforge"  # where member data for personalisation is kept (we create it)
ANKETA_NAME = "MailForge"
QUEST_TYPE = "free"  # assumed (third-party clients): a free-text quest
REPORT_SELECT = ["deliv.member.email", "deliv.result"]
REASON_COLUMN = "deliv.error"  # assumed: asked for after REPORT_SELECT, never relied upon
RESULT_OUTCOMES = {"1": Outcome.delivered, "-1": Outcome.failed}
RESULT_REASONS = {"-1": "not delivered"}
# A reason that is the receiving server's permanent SMTP reply (``550 5.1.1 …``, or just
# the RFC 3463 ``5.x.x`` code) is a hard bounce: refused, and the address suppressed.
_PERMANENT_REPLY = re.compile(r"\s*(?:5\d\d(?:[\s-]|$)|5\.\d{1,3}\.\d{1,3}\b)")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]|[%}]\}")
AUTH_HINT = "check SENDSAY_ACCOUNT and SENDSAY_API_KEY"

log = logging.getLogger(__name__)


def group_id(run_id: int) -> str:
    return f"mailforge-run-{run_id}"


def to_sendsay(template: str) -> str:
    """``{{ key }}`` → ``[% anketa.mailforge.key %]``."""
    return _PLACEHOLDER.sub(lambda m: f"[% anketa.{ANKETA}.{m.group(1)} %]", template)


def placeholders(*texts: str) -> set[str]:
    """The keys of the plain ``{{ key }}`` placeholders in ``texts``."""
    return {m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text)}


def caption_of(keys: Sequence[str]) -> list[dict[str, str]]:
    """``member.import`` columns: the address, then one anketa value per key."""
    caption = [{"datakey": "member.email", "mode": "set"}]
    return caption + [{"datakey": f"anketa.{ANKETA}.{key}", "mode": "set"} for key in keys]


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
        # What is known to exist at Sendsay, so that it is created once per process.
        self._anketa = False
        self._quests: set[str] = set()
        self._issues: dict[str, str] = {}  # track id -> issue id found in track.get
        self._reason_column = True  # until stat.uni refuses deliv.error

    def can_mass_send(self, content: RunContent) -> bool:
        texts = (content.body, content.subject or "")
        return not any(_TEMPLATE_SYNTAX.search(_PLACEHOLDER.sub("", t)) for t in texts)

    async def push_members(
        self, run_id: int, content: RunContent, members: Sequence[BulkMember]
    ) -> None:
        group = await self._group(run_id)
        keys = sorted({key for member in members for key in member.values})
        await self._ensure_quests(placeholders(*_texts(content)) | set(keys))
        # Sendsay escapes the values when it prints them: pushed as they are.
        rows = [[m.address, *(m.values.get(k, "") for k in keys)] for m in members]
        answer = await self._call(
            "member.import",
            **{"users.list": {"caption": caption_of(keys), "rows": rows}},
            charset="utf-8",
            addr_type="email",
            if_exists="overwrite",  # third-party code only
            auto_group={"id": group},  # third-party code only
            **{"newbie.confirm": 0},
        )
        if answer.get("track.id") not in (None, ""):
            await self._wait(answer["track.id"])

    async def mass_send(self, run_id: int, content: RunContent) -> dict[str, Any]:
        subject, body = _texts(content)
        letter = letter_of(
            to_sendsay(subject), to_sendsay(body), self._from_name, self._from_email
        )
        answer = await self._call(
            "issue.send", group=group_id(run_id), sendwhen="now", letter=letter
        )
        return {
            "group": group_id(run_id),
            "track": answer.get("track.id"),
            "issue": issue_id_in(answer),
        }

    async def settled(self, ref: Mapping[str, Any]) -> bool:
        if ref.get("track") in (None, ""):
            return True
        answer = await self._call("track.get", id=ref["track"])
        status = int((answer.get("obj") or {}).get("status", 0))
        if status in TRACK_SETTLED:
            self._remember_issue(ref["track"], answer)
            return True
        if status < 0:
            reason = f"Sendsay could not send the issue (track status {status})"
            raise BulkSendError(reason, retry=False)
        return False

    async def report(self, ref: Mapping[str, Any], offset: int, limit: int) -> list[BulkStatus]:
        issue = await self._issue_of(ref)
        query: dict[str, Any] = {
            "filter": [{"a": "deliv.issue.id", "op": "==", "v": issue}],
            "order": ["deliv.member.email"],  # without an order, pages may overlap
            "first": limit,
            "skip": offset,
            "missing_too": 1,
            "result": "response",
        }
        select = [*REPORT_SELECT, REASON_COLUMN] if self._reason_column else REPORT_SELECT
        try:
            answer = await self._call("stat.uni", select=select, **query)
        except BulkSendError as exc:
            if not (self._reason_column and _refused(exc)):
                raise
            answer = await self._call("stat.uni", select=REPORT_SELECT, **query)
            # Only once a read without it worked: the column was what Sendsay refused.
            log.warning("sendsay: stat.uni refused %s (%s); read without it", REASON_COLUMN, exc)
            self._reason_column = False
        return [status_of(row) for row in answer.get("list") or []]

    async def forget(self, run_id: int) -> None:
        self._groups.discard(group_id(run_id))
        await self._call("group.delete", id=group_id(run_id))

    async def _group(self, run_id: int) -> str:
        group = group_id(run_id)
        if group not in self._groups:
            await self._create(
                "group.create",
                id=group,
                name=f"MailForge run {run_id}",
                type="list",
                addr_type="email",
            )
            self._groups.add(group)
        return group

    async def _ensure_quests(self, keys: Iterable[str]) -> None:
        """The anketa and a quest per key, so that the pushed values have a place to land."""
        missing = sorted(set(keys) - self._quests)
        if not missing:
            return
        if not self._anketa:
            await self._create("anketa.create", id=ANKETA, name=ANKETA_NAME)
            self._anketa = True
        if not await self._create(
            "anketa.quest.add", **{"anketa.id": ANKETA}, obj=_quests(missing)
        ):
            # One of them was there already: whether the others were added is unknown.
            for key in missing:
                await self._create("anketa.quest.add", **{"anketa.id": ANKETA}, obj=_quests([key]))
        self._quests.update(missing)

    async def _create(self, action: str, /, **params: Any) -> bool:
        """Run a create action; False when Sendsay says the thing is already there."""
        try:
            await self._call(action, **params)
        except BulkSendError as exc:
            cause = exc.__cause__
            if isinstance(cause, SendsayError) and cause.already_exists:
                return False
            raise
        return True

    async def _issue_of(self, ref: Mapping[str, Any]) -> str:
        """The issue id: from ``issue.send``'s answer, else from the finished track."""
        if ref.get("issue") not in (None, ""):
            return str(ref["issue"])
        track = ref.get("track")
        if track not in (None, ""):
            if str(track) not in self._issues:
                self._remember_issue(track, await self._call("track.get", id=track))
            if str(track) in self._issues:
                return self._issues[str(track)]
        raise BulkSendError(
            f"Sendsay gave no issue id for the mass send (track {track}): its per-recipient "
            "results cannot be read",
            retry=False,
        )

    def _remember_issue(self, track: Any, answer: Mapping[str, Any]) -> None:
        obj = answer.get("obj")
        issue = issue_id_in(obj) if isinstance(obj, Mapping) else None
        issue = issue or issue_id_in(answer)
        if issue is not None:
            self._issues[str(track)] = str(issue)

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


def _texts(content: RunContent) -> tuple[str, str]:
    """The subject (the mailing's name when it has none) and the body that are sent."""
    return content.subject or content.mailing_name, content.body


def _quests(keys: Iterable[str]) -> list[dict[str, str]]:
    return [{"id": key, "name": key, "type": QUEST_TYPE} for key in keys]


def _refused(exc: BulkSendError) -> bool:
    """Whether Sendsay refused the request itself (not our key, not a passing problem)."""
    cause = exc.__cause__
    return isinstance(cause, SendsayError) and not isinstance(
        cause, SendsayAuthError | SendsayTransientError
    )


def issue_id_in(data: Mapping[str, Any]) -> Any:
    """``issue.id`` of an answer or a track (``{"issue.id": N}`` or ``{"issue": {"id": N}}``)
    as Sendsay gave it, or None."""
    value = data.get("issue.id")
    nested = data.get("issue")
    if value in (None, "") and isinstance(nested, Mapping):
        value = nested.get("id")
    return None if value in (None, "") else value


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
    """A ``stat.uni`` row (``deliv.member.email``, ``deliv.result`` and, when Sendsay gives
    it, ``deliv.error``) as a recipient's status; a shorter row is read as far as it goes."""
    values = list(row) if isinstance(row, list | tuple) else [row]
    email, result, error = [*values, None, None, None][:3]
    code = "" if result is None else str(result).strip()
    if code in ("", "0"):
        return BulkStatus(str(email or ""), None)
    outcome = RESULT_OUTCOMES.get(code, Outcome.failed)
    if outcome is Outcome.delivered:
        return BulkStatus(str(email), outcome)
    if error not in (None, "") and _PERMANENT_REPLY.match(str(error)):
        outcome = Outcome.refused  # the receiving server's own 5xx: as SmtpChannel reads it
    reason = RESULT_REASONS.get(code, f"result {code}")
    detail = f"sendsay: {reason}" + (f": {error}" if error not in (None, "") else "")
    return BulkStatus(str(email), outcome, detail)
