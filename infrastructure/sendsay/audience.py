"""The audience of a Sendsay mass send: a per-run group, our anketa and its quests, members.

Everything is looked up before it is made (``group.get``, ``anketa.get``), and after a
create that failed it is looked up again: another worker may have made it meanwhile, and
Sendsay's id for "already exists" is not documented (SENDSAY.md), so no error id is read.
No state is kept between calls: a restarted worker sees what Sendsay has.

Shapes (SENDSAY.md): ``group.create {id, name, type: "list", addr_type: "email"}``,
``group.delete {id}``; ``anketa.create {id, name}``, ``anketa.quest.add {"anketa.id",
obj: [{id, name, type: "free"}]}``; ``anketa.get {id}`` → ``obj.quests`` (by id) and
``obj.order``, as a production client reads it; ``member.import {"users.list": {caption:
[{datakey, mode: "set"}], rows}, charset, addr_type, if_exists, auto_group: {id}}`` with the
datakeys ``member.email`` and ``<anketa>.<quest>``.

Assumed: ``newbie.confirm: 0`` (a production client sends it with ``member.set``) keeps
Sendsay from mailing an opt-in; ``group.get`` answers an error for a group that does not
exist (``group_id_not_exists`` has been seen), anything else means it exists;
``member.import`` may answer a ``track.id`` (then it is waited for) or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from infrastructure.sendsay.client import SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError
from infrastructure.sendsay.letter import ANKETA, ANKETA_NAME

QUEST_TYPE = "free"  # a free-text quest (SENDSAY.md)


class SendsayAudience:
    def __init__(self, client: SendsayClient, *, track_poll: float, track_timeout: float):
        self._client = client
        self._track_poll, self._track_timeout = track_poll, track_timeout

    async def fresh_group(self, group: str, name: str) -> None:
        """``group``, empty: one left by an earlier attempt is deleted first (its members
        must never get this run's letter twice or a stranger's letter at all)."""
        if await self._found("group.get", id=group) is not None:
            await self._client.request("group.delete", id=group)
        create = {"id": group, "name": name, "type": "list", "addr_type": "email"}
        await self._create("group.create", create, ("group.get", {"id": group}))

    async def ensure_quests(self, keys: Iterable[str]) -> None:
        """Our anketa with a quest per key, so that pushed values have a place to land."""
        wanted = set(keys)
        if not wanted:
            return
        have = await self._quests()
        if have is None:
            anketa = {"id": ANKETA, "name": ANKETA_NAME}
            await self._create("anketa.create", anketa, ("anketa.get", {"id": ANKETA}))
            have = set()
        missing = sorted(wanted - have)
        if not missing:
            return
        try:
            await self._add_quests(missing)
        except SendsayError as exc:
            if isinstance(exc, SendsayAuthError | SendsayTransientError):
                raise
            still = sorted(wanted - (await self._quests() or set()))
            if still == missing:  # none of them appeared: the refusal was real
                raise
            if still:
                await self._add_quests(still)

    async def push(self, group: str, keys: Sequence[str], rows: list[list[str]]) -> None:
        """``rows`` (address, then one value per key) into ``group``, values overwritten."""
        caption = [{"datakey": "member.email", "mode": "set"}]
        caption += [{"datakey": f"{ANKETA}.{key}", "mode": "set"} for key in keys]
        answer = await self._client.request(
            "member.import",
            **{"users.list": {"caption": caption, "rows": rows}},
            charset="utf-8",
            addr_type="email",
            if_exists="overwrite",
            auto_group={"id": group},
            **{"newbie.confirm": 0},  # assumed (a production client's member.set): no opt-in mail
        )
        if answer.get("track.id") not in (None, ""):
            await self._client.wait_track(
                answer["track.id"], poll_interval=self._track_poll, timeout=self._track_timeout
            )

    async def _add_quests(self, keys: Sequence[str]) -> None:
        quests = [{"id": key, "name": key, "type": QUEST_TYPE} for key in keys]
        await self._client.request("anketa.quest.add", **{"anketa.id": ANKETA}, obj=quests)

    async def _quests(self) -> set[str] | None:
        """The quest ids of our anketa, or None when it does not exist."""
        obj = await self._found("anketa.get", id=ANKETA)
        if obj is None:
            return None
        quests, order = obj.get("quests"), obj.get("order")
        found: set[str] = set()
        if isinstance(quests, Mapping):
            found |= {str(key) for key in quests}
        elif isinstance(quests, list):
            found |= {str(q.get("id")) for q in quests if isinstance(q, Mapping)}
        if isinstance(order, list):
            found |= {str(key) for key in order}
        return found

    async def _create(
        self, action: str, params: dict[str, Any], lookup: tuple[str, dict[str, Any]]
    ) -> None:
        try:
            await self._client.request(action, **params)
        except SendsayError as exc:
            if isinstance(exc, SendsayAuthError | SendsayTransientError):
                raise
            if await self._found(lookup[0], **lookup[1]) is None:
                raise  # not made by anyone else either: the refusal was real

    async def _found(self, action: str, /, **params: Any) -> dict[str, Any] | None:
        """The ``obj`` of a lookup (``{}`` when the answer has none), None when Sendsay says
        it is not there (any refusal other than auth or a passing failure)."""
        try:
            answer = await self._client.request(action, **params)
        except SendsayError as exc:
            if isinstance(exc, SendsayAuthError | SendsayTransientError):
                raise
            return None
        obj = answer.get("obj")
        return dict(obj) if isinstance(obj, Mapping) else {}
