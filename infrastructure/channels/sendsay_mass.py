"""Sendsay mass sends: one issue to a per-run group, per-recipient results from statistics.

Implements ``domain.ports.mass_send.MassSendChannel`` for ``domain/usecases/mass_send.py``.
What each step relies on, confirmed or assumed, with its source
(``/work/shared/SENDSAY.md`` collects them: Sendsay's docs repository
sendsay-ru/sendsay-docs, the official clients sendsay-api-python and sendsay-api-js,
production PHP clients). The fake in ``tests/fakes/sendsay.py`` implements the same
document and refuses what it rules out.

Confirmed:

* ``issue.send`` to a list: ``group: "<group id>"``, ``sendwhen: "now"`` and an inline
  ``letter`` (``subject``, ``from.email``, ``from.name``, ``message.html``/``.text``); the
  answer carries ``track.id`` (docs how-to-send-campaign-with-api.md; SENDSAY.md). The issue
  may be named (``name``): we name it after the run with a token, to find it again.
  ``relink: 1`` turns click tracking on (``SENDSAY_RELINK``).
* ``track.get {id}`` → ``obj.status`` (maybe a string): only -1 is done; -4 later, -5 on
  moderation and 0…6 running keep polling; -2 error, -3 cancelled and -6 not moderated end
  the send for good (official clients' status list; SENDSAY.md).
* ``stat.uni`` for the issue by name and for its ``deliv`` rows, ordered; the issue's
  exclusion counters for addresses Sendsay left out (see ``infrastructure/sendsay/stats.py``).
* Member data: ``member.import`` datakeys ``<anketa>.<quest>`` (``mailforge.first_name``),
  letters read ``[% anketa.mailforge.first_name %]`` (docs ecom/how-to-configure-data-
  transfer.md, proscript/access-to-data.md); values HTML-escaped by Sendsay in HTML
  (proscript/filters-in-proscript.md); group ids of letters, digits and underscores;
  ``group.create``/``group.delete``, ``anketa.create``/``anketa.quest.add`` and
  ``anketa.get`` as in ``infrastructure/sendsay/audience.py``.
* An unconfirmed sender is refused with ``error/sender/*``; there is no default sender.

Assumed (SENDSAY.md "Unknown"; each degrades safely):

* where the mass issue's id shows up: never in the ``issue.send`` answer as far as any
  source shows; we read ``issue.id`` from the answer, then from the finished track (``obj``
  or ``obj.param``), then ``stat.uni`` by the issue's name; until the report deadline
  (``SENDSAY_REPORT_WAIT_SECONDS``) a missing id is a retry, never a failure of everyone;
* ``deliv.result`` codes beyond 1/0/-1 and ``deliv.error``: see ``stats.py`` (unknown codes
  fail with the code kept; the first rows are logged, masked, to settle them);
* the ``member.import`` answer (a ``track.id`` is waited for; none means done) and
  ``newbie.confirm: 0``; ``group.get`` refusing a missing group; the rate-limit error ids
  (``errors.TRANSIENT_MARKERS``) and HTTP statuses of API errors (``client.py``);
* whether Sendsay escapes values in the subject and the text part.

Personalisation: a template whose placeholders are all plain ``{{ key }}`` goes as one
issue, translated to PROScript; one with logic (``{% if %}``, filters) cannot (``can_mass_
send`` says no) and goes out one personal send per recipient. A manager's text with ``[%``
or ``%]`` would run as Sendsay code: it is refused (the preview refuses it before launch).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Mapping, Sequence
from email.utils import parseaddr
from typing import Any, TypeVar

from domain.delivery import Outcome, RunContent
from domain.mass_send import MassSendError, MassSendExclusion, MassSendMember, MassSendStatus
from infrastructure.channels.sendsay import sent_uncertain
from infrastructure.sendsay import reasons
from infrastructure.sendsay.audience import SendsayAudience
from infrastructure.sendsay.client import (
    TRACK_DONE,
    TRACK_WAITING,
    SendsayClient,
    track_obj,
    track_status,
)
from infrastructure.sendsay.errors import SendsayError, SendsayTransientError
from infrastructure.sendsay.letter import (
    has_code,
    link_keys,
    link_value,
    only_plain_placeholders,
    placeholders,
    template_letter,
)
from infrastructure.sendsay.stats import SendsayStats

log = logging.getLogger(__name__)
T = TypeVar("T")


def group_id(run_id: int) -> str:
    return f"mailforge_run_{run_id}"


class SendsayMassSender:
    """Uses ``client`` (owned by ``SendsayChannel``, which closes it)."""

    def __init__(
        self,
        client: SendsayClient,
        *,
        sender: str,
        relink: bool = True,
        track_poll: float = 2.0,
        track_timeout: float = 600.0,
    ) -> None:
        self._client = client
        self._from_name, self._from_email = parseaddr(sender)
        self._relink = relink
        self._audience = SendsayAudience(
            client, track_poll=track_poll, track_timeout=track_timeout
        )
        self._stats = SendsayStats(client)

    def can_mass_send(self, content: RunContent) -> bool:
        return only_plain_placeholders(*_texts(content))

    async def open_audience(self, run_id: int, content: RunContent) -> None:
        _refuse_code(content)
        await self._step(
            "group.create", self._audience.fresh_group(group_id(run_id), _name(run_id))
        )
        await self._step(
            "anketa.quest.add", self._audience.ensure_quests(placeholders(*_texts(content)))
        )

    async def push_members(
        self, run_id: int, content: RunContent, members: Sequence[MassSendMember]
    ) -> None:
        keys = sorted({key for member in members for key in member.values})
        links = link_keys(content.body)
        rows = [
            [m.address, *(_value(m.values.get(k, ""), k in links) for k in keys)] for m in members
        ]
        await self._step("member.import", self._audience.push(group_id(run_id), keys, rows))

    async def mass_send(self, run_id: int, content: RunContent) -> dict[str, Any]:
        _refuse_code(content)
        subject, body = _texts(content)
        name = f"MailForge run {run_id} {secrets.token_hex(4)}"
        answer = await self._call(
            "issue.send",
            group=group_id(run_id),
            sendwhen="now",
            name=name,
            relink=1 if self._relink else 0,
            letter=template_letter(subject, body, self._from_name, self._from_email),
        )
        return {
            "group": group_id(run_id),
            "name": name,
            "track": answer.get("track.id"),
            "issue": _issue_id_in(answer),
        }

    async def settled(self, ref: dict[str, Any]) -> bool:
        if ref.get("track") in (None, ""):
            return True
        answer = await self._call("track.get", id=ref["track"])
        obj = track_obj(answer)
        status = track_status(obj)
        if status == TRACK_DONE:
            ref["issue"] = ref.get("issue") or _issue_id_in(obj)
            return True
        if status in reasons.TRACK_ENDS:
            raise MassSendError(reasons.reason(reasons.TRACK_ENDS[status], status), retry=False)
        if status not in TRACK_WAITING:
            log.warning(
                "sendsay: track %s has an unknown status %r", ref["track"], obj.get("status")
            )
        return False

    async def report(self, ref: dict[str, Any], offset: int, limit: int) -> list[MassSendStatus]:
        issue = await self._issue_of(ref)
        return await self._step("stat.uni", self._stats.deliveries(issue, offset, limit))

    async def exclusions(self, ref: dict[str, Any]) -> list[MassSendExclusion]:
        issue = await self._issue_of(ref)
        counts = await self._step("stat.uni", self._stats.exclusions(issue))
        return [
            MassSendExclusion(
                key, counts.get(name, 0), Outcome.refused if refused else Outcome.failed
            )
            for name, (key, refused) in reasons.EXCLUSIONS.items()
            if counts.get(name, 0) > 0
        ]

    async def forget(self, run_id: int) -> None:
        await self._call("group.delete", id=group_id(run_id))

    async def _issue_of(self, ref: dict[str, Any]) -> str:
        """The issue's id: from the answer or the track (kept in ``ref``), else ``stat.uni``
        by the issue's name; missing, it is a retry (until the report deadline)."""
        if ref.get("issue") in (None, "") and ref.get("name"):
            ref["issue"] = await self._step("stat.uni", self._stats.issue_named(str(ref["name"])))
        if ref.get("issue") in (None, ""):
            raise MassSendError(reasons.reason(reasons.NO_ISSUE, ref.get("track")), retry=True)
        return str(ref["issue"])

    async def _call(self, action: str, /, **params: Any) -> dict[str, Any]:
        return await self._step(action, self._client.request(action, **params))

    async def _step(self, action: str, step: Awaitable[T]) -> T:
        """Await ``step`` (Sendsay calls for ``action``); errors become ``MassSendError``."""
        try:
            return await step
        except SendsayError as exc:
            raise mass_send_error(exc, action) from exc
        except MassSendError:
            raise
        except Exception as exc:  # anything else is a bug or a surprise: stop, say what
            raise MassSendError(f"{action}: {type(exc).__name__}: {exc}", retry=False) from exc


def mass_send_error(exc: SendsayError, action: str) -> MassSendError:
    if isinstance(exc, SendsayTransientError):
        uncertain = sent_uncertain(exc) if action == "issue.send" else None
        if uncertain is not None:  # it may have reached Sendsay: never send it a second time
            return MassSendError(uncertain, retry=False)
        return MassSendError(reasons.reason_of(exc), retry=True, retry_after=exc.retry_after)
    return MassSendError(reasons.reason_of(exc), retry=False)


def _refuse_code(content: RunContent) -> None:
    if has_code(*_texts(content)):
        raise MassSendError(reasons.PROSCRIPT, retry=False)


def _texts(content: RunContent) -> tuple[str, str]:
    """The subject (the mailing's name when it has none) and the body that are sent."""
    return content.subject or content.mailing_name, content.body


def _name(run_id: int) -> str:
    return f"MailForge run {run_id}"


def _value(value: str, in_link: bool) -> str:
    return link_value(value) if in_link else value


def _issue_id_in(data: Mapping[str, Any]) -> Any:
    """``issue.id`` of an answer or a track: flat, nested (``issue.id``) or in ``param``."""
    for where in (data, data.get("param")):
        if not isinstance(where, Mapping):
            continue
        value = where.get("issue.id")
        nested = where.get("issue")
        if value in (None, "") and isinstance(nested, Mapping):
            value = nested.get("id")
        if value not in (None, ""):
            return value
    return None
