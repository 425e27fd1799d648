"""An in-memory unit of work for use-case unit tests: ``domain.ports.uow.UnitOfWork`` over
plain dicts, with its transaction semantics (a copy is worked on; only ``commit`` makes
it the data; leaving without a commit rolls back).

    db = MemoryDatabase(users=[User(1, role=Role.manager)])
    await mailings.create_draft(db.uow_factory, 1, "News", "UTC")
    assert db.committed == 1 and db.mailings[1].name == "News"

What it implements follows the SQL repositories' documented contracts
(``domain/ports/``): ids from 1, case-insensitive names, unique (kind, value)
addresses, unique (mailing, slot) runs, pages by id, audiences deduplicated across lists.
The unit of work's repositories follow the ports' split (``uow.lists``, ``uow.members``,
``uow.audiences``…); the read side outside it has ``MemoryEngagementReader``. The read
models that only SQL can answer honestly (segment matching and exclusions, statistics)
are not here: a use case that needs them is tested in ``tests/integration`` (unit tests
pass ``StatsUnread``, which fails on any read); a targeting other than everyone raises
``NotImplementedError``, and a missing repository ``AttributeError``.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from domain.ab_test import Decision, Metric, Split, VariantResult, placement
from domain.api_tokens import ApiToken
from domain.audit import AuditEntry
from domain.bounces import BounceKind, BounceReport, SoftStreak
from domain.engagement import ClickCount, DeliveryRef, FirstClicks, LinkClicks, RunEngagement
from domain.errors import Conflict
from domain.idempotency import IdempotencyRecord
from domain.mailings import Mailing, MailingStatus, Ownership
from domain.pagination import Page
from domain.ports.api import TokenAndRun
from domain.recipients import Address, AddressKind, Audience, ListSize, RecipientList
from domain.runs import (
    DeliveryStatus,
    FollowUpStart,
    MailingRun,
    ProgressMessage,
    RunStatus,
    RunTotals,
)
from domain.saved_segments import SavedSegment
from domain.targeting import Targeting
from domain.templates import Template
from domain.users import Role, User
from domain.webhooks import (
    Claimed,
    Endpoint,
    EndpointHealth,
    EventType,
    OutboxItem,
    OutboxStatus,
)


@dataclass
class _State:
    users: dict[int, User] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    addresses: dict[int, Address] = field(default_factory=dict)
    lists: dict[int, RecipientList] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)  # list id -> address ids
    # list id -> members the latest re-import from its source did not find (the SQL
    # importer marks them: ``list_members.gone_at``)
    gone: dict[int, set[int]] = field(default_factory=dict)
    templates: dict[int, Template] = field(default_factory=dict)
    mailings: dict[int, Mailing] = field(default_factory=dict)
    runs: dict[int, MailingRun] = field(default_factory=dict)
    endpoints: dict[int, Endpoint] = field(default_factory=dict)
    api_tokens: dict[int, ApiToken] = field(default_factory=dict)
    segments: dict[int, SavedSegment] = field(default_factory=dict)
    idempotency: dict[tuple[int, str], IdempotencyRecord] = field(default_factory=dict)
    # after sending (``MemoryEngagement``): delivery rows as bounces and clicks see them
    deliveries: dict[int, DeliveryRef] = field(default_factory=dict)
    delivery_errors: dict[int, str] = field(default_factory=dict)
    run_tracking: dict[int, dict[str, int]] = field(default_factory=dict)
    link_tracking: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    opens: dict[int, int] = field(default_factory=dict)  # delivery id -> opens
    link_clicks: dict[tuple[int, int], int] = field(default_factory=dict)  # (delivery, link)
    bounces: dict[str, BounceReport] = field(default_factory=dict)  # by message key
    soft_streaks: dict[int, SoftStreak] = field(default_factory=dict)
    outbox: dict[int, OutboxItem] = field(default_factory=dict)
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class MemoryDatabase:
    """The committed data; ``uow_factory`` opens units of work on it."""

    def __init__(self, users: Sequence[User] = ()) -> None:
        self.state = _State(users={u.telegram_id: u for u in users})
        self.committed = 0  # how many commits there were

    def uow_factory(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    # committed data, for assertions
    @property
    def audit(self) -> list[AuditEntry]:
        return self.state.audit

    @property
    def mailings(self) -> dict[int, Mailing]:
        return self.state.mailings

    @property
    def lists(self) -> dict[int, RecipientList]:
        return self.state.lists

    @property
    def addresses(self) -> dict[int, Address]:
        return self.state.addresses

    @property
    def members(self) -> dict[int, list[int]]:
        return self.state.members

    @property
    def runs(self) -> dict[int, MailingRun]:
        return self.state.runs

    @property
    def users(self) -> dict[int, User]:
        return self.state.users

    @property
    def templates(self) -> dict[int, Template]:
        return self.state.templates

    @property
    def api_tokens(self) -> dict[int, ApiToken]:
        return self.state.api_tokens

    @property
    def segments(self) -> dict[int, SavedSegment]:
        return self.state.segments

    @property
    def idempotency(self) -> dict[tuple[int, str], IdempotencyRecord]:
        return self.state.idempotency

    @property
    def deliveries(self) -> dict[int, DeliveryRef]:
        return self.state.deliveries

    @property
    def outbox(self) -> dict[int, OutboxItem]:
        return self.state.outbox


class _Repo:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _s(self) -> _State:
        return self._uow.state


def _page(items: list[Any], page: int, size: int) -> Page[Any]:
    return Page(items[page * size : (page + 1) * size], len(items), page, size)


class MemoryUsers(_Repo):
    async def get(self, telegram_id: int) -> User | None:
        user = self._s.users.get(telegram_id)
        return replace(user) if user else None

    async def get_by_username(self, username: str) -> User | None:
        wanted = username.removeprefix("@").lower()
        for user in self._s.users.values():
            if (user.username or "").lower() == wanted:
                return replace(user)
        return None

    async def add(self, user: User) -> None:
        assert user.telegram_id not in self._s.users, "unique telegram_id"
        self._s.users[user.telegram_id] = replace(user)

    async def add_or_get(self, user: User) -> User:
        stored = self._s.users.setdefault(user.telegram_id, replace(user))
        return replace(stored)

    async def update(self, user: User) -> None:
        assert user.telegram_id in self._s.users
        self._s.users[user.telegram_id] = replace(user)

    async def lock_admins(self) -> None:
        return None  # one unit of work at a time here: nothing to take turns with

    async def count_active(self, role: Role) -> int:
        return sum(1 for u in self._s.users.values() if u.is_active and u.role is role)

    async def list_staff(self, page: int, size: int) -> Page[User]:
        staff = [u for u in self._s.users.values() if u.role is not None or u.granted_at]
        staff.sort(key=lambda u: (u.role is not Role.admin, u.telegram_id))
        return _page([replace(u) for u in staff], page, size)


class MemoryAudit(_Repo):
    async def add(self, entry: AuditEntry) -> None:
        self._s.audit.append(entry)

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        return list(reversed(self._s.audit))[:limit]


class MemoryAddresses(_Repo):
    async def get(self, address_id: int) -> Address | None:
        found = self._s.addresses.get(address_id)
        return replace(found) if found else None

    async def find(self, kind: AddressKind, value: str) -> Address | None:
        for address in self._s.addresses.values():
            if address.kind is kind and address.value == value:
                return replace(address)
        return None

    async def upsert(self, address: Address) -> Address:
        existing = await self.find(address.kind, address.value)
        if existing is not None:
            return existing
        address = replace(address, id=self._s.next_id())
        self._s.addresses[address.id or 0] = replace(address)
        return address

    async def update(self, address: Address) -> None:
        assert address.id in self._s.addresses
        self._s.addresses[address.id] = replace(address)


class MemoryListCatalogue(_Repo):
    async def get(self, list_id: int) -> RecipientList | None:
        found = self._s.lists.get(list_id)
        return copy.deepcopy(found) if found else None

    async def add(self, rlist: RecipientList) -> RecipientList:
        assert await self.find_by_name(rlist.name) is None, "unique name (case-insensitive)"
        rlist.id = self._s.next_id()
        self._s.lists[rlist.id] = copy.deepcopy(rlist)
        self._s.members[rlist.id] = []
        return rlist

    async def update(self, rlist: RecipientList) -> None:
        assert rlist.id in self._s.lists
        self._s.lists[rlist.id] = copy.deepcopy(rlist)

    async def delete(self, list_id: int) -> None:
        self._s.lists.pop(list_id, None)
        self._s.members.pop(list_id, None)
        for mailing in self._s.mailings.values():  # the SQL cascade of mailing_lists
            mailing.list_ids = [i for i in mailing.list_ids if i != list_id]

    async def all(self) -> list[RecipientList]:
        return [copy.deepcopy(r) for _, r in sorted(self._s.lists.items())]

    async def find_by_name(self, name: str) -> RecipientList | None:
        for rlist in self._s.lists.values():
            if rlist.name.lower() == name.lower():
                return copy.deepcopy(rlist)
        return None


class MemoryListMembers(_Repo):
    async def add_members(self, list_id: int, address_ids: Sequence[int]) -> int:
        members = self._s.members[list_id]
        new = [i for i in dict.fromkeys(address_ids) if i not in members]
        members.extend(new)
        return len(new)

    async def remove_member(self, list_id: int, address_id: int) -> bool:
        members = self._s.members.get(list_id, [])
        if address_id not in members:
            return False
        members.remove(address_id)
        self._s.gone.get(list_id, set()).discard(address_id)
        return True

    async def has_member(self, list_id: int, address_id: int) -> bool:
        return address_id in self._s.members.get(list_id, [])

    async def remove_gone(self, list_id: int) -> int:
        gone = self._s.gone.pop(list_id, set())
        members = self._s.members.get(list_id, [])
        members[:] = [i for i in members if i not in gone]
        return len(gone)

    async def size(self, list_id: int) -> ListSize:
        counts = dict.fromkeys(("email", "telegram", "webhook", "suppressed"), 0)
        for address_id in self._s.members.get(list_id, []):
            address = self._s.addresses[address_id]
            counts[address.kind.value] += 1
            counts["suppressed"] += address.is_suppressed
        return ListSize(**counts)

    async def members(
        self, list_id: int, page: int, size: int, query: str | None = None
    ) -> Page[Address]:
        found = [self._s.addresses[i] for i in sorted(self._s.members.get(list_id, []))]
        if query:
            needle = query.lower()
            found = [
                a
                for a in found
                if needle in a.value.lower()
                or any(needle in str(v).lower() for v in a.attributes.values())
            ]
        return _page([replace(a) for a in found], page, size)

    async def add_subscribers(self, list_id: int) -> int:
        subscribers = [
            i
            for i, a in sorted(self._s.addresses.items())
            if a.subscribed_at is not None and not a.is_suppressed
        ]
        return await self.add_members(list_id, subscribers)


class MemoryAudiences(_Repo):
    def _audience(self, list_ids: Sequence[int], targeting: Targeting | None) -> list[Address]:
        if targeting is not None and not targeting.is_everyone:
            raise NotImplementedError("segments are SQL: test them in tests/integration")
        ids = {i for list_id in list_ids for i in self._s.members.get(list_id, [])}
        return [self._s.addresses[i] for i in sorted(ids)]

    async def audience(
        self,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
    ) -> Audience:
        members = self._audience(list_ids, targeting)
        right = [a for a in members if a.kind in kinds]
        reachable = [a for a in right if not a.is_suppressed]
        return Audience(
            reachable=len(reachable),
            suppressed=len(right) - len(reachable),
            other_kinds=len(members) - len(right),
            first=replace(reachable[0]) if reachable else None,
        )

    async def missing_attributes(
        self,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        keys: Sequence[str],
        targeting: Targeting | None = None,
        today: date | None = None,
    ) -> dict[str, int]:
        if not list_ids or not keys:
            return {}
        members = self._audience(list_ids, targeting)
        reachable = [a for a in members if a.kind in kinds and not a.is_suppressed]
        return {k: sum(1 for a in reachable if not a.attributes.get(k)) for k in keys}

    async def fields(self, list_ids: Sequence[int]) -> list[str]:
        return sorted({f for i in list_ids if i in self._s.lists for f in self._s.lists[i].fields})


class MemoryTemplates(_Repo):
    async def get(self, template_id: int) -> Template | None:
        found = self._s.templates.get(template_id)
        return replace(found) if found else None

    async def add(self, template: Template) -> Template:
        template.id = self._s.next_id()
        self._s.templates[template.id] = replace(template)
        return template

    async def update(self, template: Template) -> None:
        assert template.id in self._s.templates
        self._s.templates[template.id] = replace(template)

    async def delete(self, template_id: int) -> None:
        self._s.templates.pop(template_id, None)

    async def all(self) -> list[Template]:
        return [replace(t) for _, t in sorted(self._s.templates.items())]


class MemoryWebhooks(_Repo):
    """``WebhookStore`` on dicts: unique (endpoint, event id), claims by due time."""

    async def add(self, endpoint: Endpoint) -> Endpoint:
        endpoint.id = self._s.next_id()
        self._s.endpoints[endpoint.id] = replace(endpoint)
        return endpoint

    async def get(self, endpoint_id: int) -> Endpoint | None:
        found = self._s.endpoints.get(endpoint_id)
        return replace(found) if found else None

    async def all(self) -> list[Endpoint]:
        return [replace(e) for _, e in sorted(self._s.endpoints.items())]

    async def delete(self, endpoint_id: int) -> bool:
        for item_id in [i for i, o in self._s.outbox.items() if o.endpoint_id == endpoint_id]:
            del self._s.outbox[item_id]
        return self._s.endpoints.pop(endpoint_id, None) is not None

    async def subscribed(self, types: frozenset[EventType]) -> list[Endpoint]:
        return [e for e in await self.all() if e.events & types]

    async def enqueue(self, items: Sequence[OutboxItem]) -> int:
        taken = {(o.endpoint_id, o.event_id) for o in self._s.outbox.values()}
        added = 0
        for item in items:
            if (item.endpoint_id, item.event_id) in taken:
                continue
            taken.add((item.endpoint_id, item.event_id))
            stored = replace(item, id=self._s.next_id())
            self._s.outbox[stored.id or 0] = stored
            added += 1
        return added

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        due = sorted(
            (o for o in self._s.outbox.values() if o.status is OutboxStatus.pending),
            key=lambda o: (o.next_at, o.id or 0),
        )
        claimed = []
        for item in [o for o in due if o.next_at <= now][:limit]:
            item.attempts += 1
            item.next_at = now + lease
            endpoint = self._s.endpoints[item.endpoint_id]
            claimed.append(Claimed(replace(item), endpoint.url, endpoint.secret))
        return claimed

    async def record(self, item: OutboxItem) -> None:
        assert item.id is not None
        stored = self._s.outbox[item.id]
        stored.status, stored.next_at = item.status, item.next_at
        stored.last_status, stored.last_error = item.last_status, item.last_error

    async def purge_sent(self, created_before: datetime, limit: int) -> int:
        old = sorted(
            i
            for i, o in self._s.outbox.items()
            if o.status is OutboxStatus.sent and o.created_at < created_before
        )[:limit]
        for item_id in old:
            del self._s.outbox[item_id]
        return len(old)

    async def health(self, endpoint_id: int, failures: int) -> EndpointHealth | None:
        endpoint = await self.get(endpoint_id)
        if endpoint is None:
            return None
        mine = [o for o in self._s.outbox.values() if o.endpoint_id == endpoint_id]
        pending = sum(o.status is OutboxStatus.pending for o in mine)
        failed = [
            replace(o)
            for o in sorted(mine, key=lambda o: -(o.id or 0))
            if o.status is not OutboxStatus.sent
            and (o.last_error or o.status is OutboxStatus.failed)
        ]
        return EndpointHealth(endpoint, pending, failed[:failures])


class MemoryApiTokens(_Repo):
    """``domain.ports.api.ApiTokenStore`` on a dict: unique hashes, ``created_at`` set
    by the store (the SQL default ``now()``; here the moment of ``add``)."""

    async def add(self, token: ApiToken) -> ApiToken:
        assert await self._by_hash(token.token_hash) is None, "unique token_hash"
        token = replace(token, id=self._s.next_id(), created_at=datetime.now(UTC))
        self._s.api_tokens[token.id or 0] = replace(token)
        return token

    async def _by_hash(self, token_hash: str) -> ApiToken | None:
        for token in self._s.api_tokens.values():
            if token.token_hash == token_hash:
                return replace(token)
        return None

    async def with_owner(self, token_hash: str) -> tuple[ApiToken, User | None] | None:
        token = await self._by_hash(token_hash)
        if token is None:
            return None
        owner = self._s.users.get(token.owner_id)
        return token, replace(owner) if owner is not None else None

    async def get(self, token_id: int) -> ApiToken | None:
        found = self._s.api_tokens.get(token_id)
        return replace(found) if found else None

    async def for_owner(self, owner_id: int) -> list[ApiToken]:
        mine = [t for t in self._s.api_tokens.values() if t.owner_id == owner_id]
        return [replace(t) for t in sorted(mine, key=lambda t: -(t.id or 0))]

    async def revoke(self, token_id: int, now: datetime) -> bool:
        token = self._s.api_tokens.get(token_id)
        if token is None or token.revoked_at is not None:
            return False
        token.revoked_at = now
        return True

    async def touch(self, token_id: int, now: datetime) -> None:
        if token_id in self._s.api_tokens:
            self._s.api_tokens[token_id].last_used_at = now


class MemorySegments(_Repo):
    """``domain.ports.segments.SegmentStore``: names unique per owner, ignoring case."""

    async def add(self, saved: SavedSegment) -> SavedSegment:
        if await self.find(saved.owner_id, saved.name) is not None:
            raise Conflict("segments-name-taken", name=saved.name)
        saved = replace(saved, id=self._s.next_id())
        self._s.segments[saved.id or 0] = replace(saved)
        return saved

    async def get(self, segment_id: int) -> SavedSegment | None:
        found = self._s.segments.get(segment_id)
        return replace(found) if found else None

    async def of_owner(self, owner_id: int) -> list[SavedSegment]:
        mine = [s for s in self._s.segments.values() if s.owner_id == owner_id]
        return [replace(s) for s in sorted(mine, key=lambda s: (s.name, s.id or 0))]

    async def find(self, owner_id: int, name: str) -> SavedSegment | None:
        for saved in self._s.segments.values():
            if saved.owner_id == owner_id and saved.name.lower() == name.lower():
                return replace(saved)
        return None

    async def delete(self, segment_id: int) -> bool:
        return self._s.segments.pop(segment_id, None) is not None


class MemoryIdempotency(_Repo):
    """``domain.ports.api.IdempotencyStore``: one record per (actor, key)."""

    async def reserve(
        self, actor_id: int, key: str, request_hash: str
    ) -> IdempotencyRecord | None:
        held = self._s.idempotency.get((actor_id, key))
        if held is not None:
            return held
        self._s.idempotency[(actor_id, key)] = IdempotencyRecord(actor_id, key, request_hash, None)
        return None

    async def complete(self, actor_id: int, key: str, run_id: int) -> None:
        held = self._s.idempotency[(actor_id, key)]
        self._s.idempotency[(actor_id, key)] = replace(held, run_id=run_id)

    async def release(self, actor_id: int, key: str) -> None:
        self._s.idempotency.pop((actor_id, key), None)


class MemoryEngagement(_Repo):
    """``domain.ports.engagement.TrackingStore`` and ``BounceStore`` on dicts: the delivery rows
    a test puts in ``deliveries``, ``run_tracking`` and ``run_links`` as counters."""

    # -- TrackingStore
    async def delivery(self, delivery_id: int) -> DeliveryRef | None:
        return self._s.deliveries.get(delivery_id)

    async def deliveries(self, delivery_ids: Collection[int]) -> dict[int, DeliveryRef]:
        return {i: self._s.deliveries[i] for i in delivery_ids if i in self._s.deliveries}

    async def run_content(self, run_id: int) -> dict[str, object] | None:
        run = self._s.runs.get(run_id)
        return copy.deepcopy(run.content) if run is not None else None

    async def first_open(self, run_id: int, delivery_id: int, now: datetime) -> bool:
        self._s.opens[delivery_id] = self._s.opens.get(delivery_id, 0) + 1
        return self._s.opens[delivery_id] == 1

    async def add_clicks(self, counts: Sequence[ClickCount]) -> FirstClicks:
        clicked = {d for d, _ in self._s.link_clicks}
        first_links = {(c.delivery_id, c.index) for c in counts} - set(self._s.link_clicks)
        for c in counts:
            key = (c.delivery_id, c.index)
            self._s.link_clicks[key] = self._s.link_clicks.get(key, 0) + c.count
        return FirstClicks(
            frozenset({c.delivery_id for c in counts} - clicked), frozenset(first_links)
        )

    async def add_to_link(self, run_id: int, index: int, **counts: int) -> None:
        _add(self._s.link_tracking.setdefault((run_id, index), {}), counts)

    async def add_to_run(self, run_id: int, **counts: int) -> None:
        _add(self._s.run_tracking.setdefault(run_id, {}), counts)

    async def reset_soft_bounces(self, address_ids: Collection[int]) -> None:
        for address_id in address_ids:
            self._s.soft_streaks.pop(address_id, None)

    # -- BounceStore
    async def record(self, report: BounceReport, target: DeliveryRef | None) -> bool:
        if report.key in self._s.bounces:
            return False
        self._s.bounces[report.key] = report
        return True

    async def seen(self, delivery_id: int, kinds: tuple[str, ...], key: str) -> bool:
        return any(
            k != key and r.delivery_id == delivery_id and r.kind.value in kinds
            for k, r in self._s.bounces.items()
        )

    async def refuse(self, target: DeliveryRef, reason: str, now: datetime) -> bool:
        found = self._s.deliveries.get(target.delivery_id)
        if found is None or found.status is not DeliveryStatus.delivered:
            return False
        self._s.deliveries[found.delivery_id] = replace(
            found, status=DeliveryStatus.refused, updated_at=now
        )
        self._s.delivery_errors[found.delivery_id] = reason
        run = self._s.runs[found.run_id]
        run.totals = replace(
            run.totals, delivered=run.totals.delivered - 1, refused=run.totals.refused + 1
        )
        return True

    async def note(self, delivery_id: int, reason: str) -> None:
        self._s.delivery_errors[delivery_id] = reason

    async def soft_streak(self, address_id: int) -> SoftStreak:
        return self._s.soft_streaks.get(address_id, SoftStreak())

    async def set_soft_streak(self, address_id: int, streak: SoftStreak) -> None:
        self._s.soft_streaks[address_id] = streak

    async def got_through(self, address_id: int, after_run: int, before_run: int) -> bool:
        bounced = {
            r.delivery_id
            for r in self._s.bounces.values()
            if r.kind in (BounceKind.hard, BounceKind.soft)
        }
        return any(
            d.address_id == address_id
            and after_run < d.run_id < before_run
            and d.status is DeliveryStatus.delivered
            and d.delivery_id not in bounced
            for d in self._s.deliveries.values()
        )

    async def suppress(self, address_id: int, now: datetime) -> None:
        address = self._s.addresses[address_id]
        address.refused_at = address.refused_at or now

    async def unsubscribe(self, address_id: int, now: datetime) -> None:
        address = self._s.addresses[address_id]
        address.unsubscribed_at = address.unsubscribed_at or now


def _add(counters: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        counters[name] = counters.get(name, 0) + value


class MemoryMailings(_Repo):
    async def get(self, mailing_id: int) -> Mailing | None:
        found = self._s.mailings.get(mailing_id)
        return copy.deepcopy(found) if found else None

    async def add(self, mailing: Mailing) -> Mailing:
        assert not await self.name_taken(mailing.owner_id, mailing.name), "unique name"
        mailing.id = self._s.next_id()
        self._s.mailings[mailing.id] = copy.deepcopy(mailing)
        return mailing

    async def update(self, mailing: Mailing) -> None:
        assert mailing.id in self._s.mailings
        self._s.mailings[mailing.id] = copy.deepcopy(mailing)

    async def delete(self, mailing_id: int) -> None:
        self._s.mailings.pop(mailing_id, None)
        for run_id in [i for i, r in self._s.runs.items() if r.mailing_id == mailing_id]:
            del self._s.runs[run_id]

    async def search(
        self,
        *,
        owner_id: int | None,
        status: MailingStatus | None,
        page: int,
        size: int,
        include_archived: bool = False,
    ) -> Page[Mailing]:
        found = [
            copy.deepcopy(m)
            for _, m in sorted(self._s.mailings.items(), reverse=True)  # newest first
            if (owner_id is None or m.owner_id == owner_id)
            and (status is None or m.status is status)
            and (include_archived or m.archived_at is None)
        ]
        return _page(found, page, size)

    async def using_list(self, list_id: int, statuses: Sequence[MailingStatus]) -> list[Mailing]:
        return [
            copy.deepcopy(m)
            for _, m in sorted(self._s.mailings.items())
            if list_id in m.list_ids and m.status in statuses and m.archived_at is None
        ]

    async def name_taken(self, owner_id: int, name: str, exclude_id: int | None = None) -> bool:
        return any(
            m.owner_id == owner_id and m.name.lower() == name.lower() and i != exclude_id
            for i, m in self._s.mailings.items()
        )


class MemoryRuns(_Repo):
    async def get(self, run_id: int) -> MailingRun | None:
        found = self._s.runs.get(run_id)
        return copy.deepcopy(found) if found else None

    async def get_with_ownership(self, run_id: int) -> tuple[MailingRun, Ownership] | None:
        run = self._s.runs.get(run_id)
        mailing = self._s.mailings.get(run.mailing_id) if run is not None else None
        if run is None or mailing is None:
            return None
        return copy.deepcopy(run), mailing.ownership

    async def add(self, run: MailingRun) -> MailingRun | None:
        if any(
            r.mailing_id == run.mailing_id and r.scheduled_for == run.scheduled_for
            for r in self._s.runs.values()
        ):
            return None
        run.id = self._s.next_id()
        self._s.runs[run.id] = copy.deepcopy(run)
        return run

    async def update(self, run: MailingRun) -> None:
        """As SQL's, it leaves the A/B test's fields to ``ABTestStore``."""
        assert run.id in self._s.runs
        stored = self._s.runs[run.id]
        self._s.runs[run.id] = replace(
            copy.deepcopy(run), ab_due_at=stored.ab_due_at, ab_result=stored.ab_result
        )

    def _sends(self, mailing_id: int) -> list[MailingRun]:
        runs = [r for r in self._s.runs.values() if r.mailing_id == mailing_id]
        runs = [r for r in runs if not r.is_follow_up]
        return sorted(runs, key=lambda r: (r.scheduled_for, r.id or 0), reverse=True)

    async def for_mailing(self, mailing_id: int, limit: int = 20) -> list[MailingRun]:
        return [copy.deepcopy(r) for r in self._sends(mailing_id)[:limit]]

    async def last_for_mailing(self, mailing_id: int) -> MailingRun | None:
        runs = self._sends(mailing_id)
        return copy.deepcopy(runs[0]) if runs else None

    async def follow_ups(self, source_run_id: int) -> list[MailingRun]:
        runs = [r for r in self._s.runs.values() if r.source_run_id == source_run_id]
        return [copy.deepcopy(r) for r in sorted(runs, key=lambda r: r.id or 0)]

    async def due_autodeletes(self, now: datetime) -> list[MailingRun]:
        due = [
            r
            for r in self._s.runs.values()
            if not r.is_follow_up and r.ended and r.autodelete_at and r.autodelete_at <= now
        ]
        return [copy.deepcopy(r) for r in sorted(due, key=lambda r: r.id or 0)]

    async def show_progress(self, run_id: int, message: ProgressMessage | None) -> None:
        self._s.runs[run_id].progress = message

    async def with_progress(self) -> list[MailingRun]:
        return [copy.deepcopy(r) for r in self._s.runs.values() if r.progress is not None]

    async def with_status(self, status: RunStatus) -> list[MailingRun]:
        return [copy.deepcopy(r) for r in self._s.runs.values() if r.status is status]

    async def complete_drained(self, now: datetime) -> list[MailingRun]:
        done = []
        for run in self._s.runs.values():
            totals = run.totals
            if run.status is RunStatus.running and totals.pending == 0 and totals.sending == 0:
                run.status, run.finished_at = RunStatus.completed, now
                done.append(copy.deepcopy(run))
        return done


class MemoryUnitOfWork:
    """One transaction on a ``MemoryDatabase``."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self.state = db.state
        self.users = MemoryUsers(self)
        self.audit = MemoryAudit(self)
        self.addresses = MemoryAddresses(self)
        self.lists = MemoryListCatalogue(self)
        self.members = MemoryListMembers(self)
        self.audiences = MemoryAudiences(self)
        self.templates = MemoryTemplates(self)
        self.mailings = MemoryMailings(self)
        self.runs = MemoryRuns(self)
        self.webhooks = MemoryWebhooks(self)
        self.api_tokens = MemoryApiTokens(self)
        self.segments = MemorySegments(self)
        self.idempotency = MemoryIdempotency(self)
        self.tracking = self.bounces = MemoryEngagement(self)

    async def __aenter__(self) -> Self:
        self.state = copy.deepcopy(self._db.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self._db.state = copy.deepcopy(self.state)
        self._db.committed += 1

    async def rollback(self) -> None:
        self.state = copy.deepcopy(self._db.state)


class MemoryQueue:
    """``domain.ports.queue.RunSnapshots`` on a ``MemoryDatabase``: the snapshots, each a
    committed transaction of its own, as ``SqlDeliveryQueue``'s are. ``rows`` holds
    (run id, address id) -> status. Claiming and recording are the engine's business and
    are tested on the real queue (``tests/integration/db/test_queue.py``)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self.rows: dict[tuple[int, int], str] = {}
        # An A/B test's rows: their variant (None: the rest, held until the winner).
        self.variants: dict[tuple[int, int], int | None] = {}

    async def snapshot(
        self,
        run_id: int,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
        release: object | None = None,
        split: Split | None = None,
    ) -> int:
        """``release`` (local-time sending) is not modelled: rows are due at once. A
        ``split`` places each row by ``domain.ab_test.placement``, as the SQL does."""
        if release is not None:
            raise NotImplementedError("local-time release is SQL: test it in tests/integration")
        async with self._db.uow_factory() as uow:
            audiences = MemoryAudiences(uow)
            members = [a for a in audiences._audience(list_ids, targeting) if a.kind in kinds]
            added = [a.id or 0 for a in members if not a.is_suppressed]
            added = [i for i in added if (run_id, i) not in self.rows]
            await self._add(uow, run_id, added)
        if split is not None:
            for address_id in added:
                where = placement(split.seed, address_id, split.percent, split.variants)
                self.variants[(run_id, address_id)] = where
        return self._db.runs[run_id].totals.pending

    async def snapshot_one(self, run_id: int, address_id: int) -> int:
        if (run_id, address_id) in self.rows:
            return 0
        async with self._db.uow_factory() as uow:
            await self._add(uow, run_id, [address_id])
        return 1

    async def _add(self, uow: MemoryUnitOfWork, run_id: int, address_ids: list[int]) -> None:
        run = uow.state.runs[run_id]
        run.totals = replace(run.totals, pending=run.totals.pending + len(address_ids))
        await uow.commit()
        self.rows.update(dict.fromkeys(((run_id, i) for i in address_ids), "pending"))


class MemoryFollowUps:
    """``domain.ports.follow_ups.FollowUpQueue``'s ``start`` on a ``MemoryDatabase``:
    ``copies`` holds when each copy of a send run still in its chat was delivered (source
    run id -> times); one transaction, as the SQL's. ``targets`` is the engine's business."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self.copies: dict[int, list[datetime]] = {}

    async def start(
        self, run: MailingRun, kept_before: datetime | None, *, auto: bool = False
    ) -> FollowUpStart | None:
        source_id = run.source_run_id or 0
        async with self._db.uow_factory() as uow:
            source = uow.state.runs[source_id]
            if auto:
                if source.autodelete_at is None:
                    return None
                source.autodelete_at = None  # claimed, even when no copy is left
                await uow.commit()
            copies = self.copies.get(source_id, [])
            if not copies:
                return None
            kept = sum(1 for at in copies if kept_before is not None and at < kept_before)
            run.totals = RunTotals(pending=len(copies) - kept, failed=kept)
            added = await MemoryRuns(uow).add(run)
            assert added is not None and added.id is not None
            await uow.commit()
        return FollowUpStart(added.id, len(copies) - kept, kept)


class MemoryABTests:
    """``domain.ports.ab_tests.ABTestStore`` over a ``MemoryQueue``'s rows. Only the
    ``delivered`` metric is modelled (opens, clicks and answers are SQL read models:
    ``tests/integration/db/test_ab_tests.py``)."""

    def __init__(self, db: MemoryDatabase, queue: MemoryQueue) -> None:
        self._db, self._queue = db, queue

    async def due(self, now: datetime) -> list[int]:
        return sorted(
            run_id
            for run_id, run in self._db.runs.items()
            if run.ab_due_at is not None
            and run.ab_due_at <= now
            and run.ab_result is None
            and run.status is not RunStatus.cancelled
        )

    async def results(self, run_id: int, metric: Metric, variants: int) -> list[VariantResult]:
        if metric is not Metric.delivered:
            raise NotImplementedError("opens, clicks and answers are SQL read models")
        found = [VariantResult(0, 0) for _ in range(variants)]
        for (run, address_id), variant in self._queue.variants.items():
            if run == run_id and variant is not None:
                hit = self._queue.rows[(run, address_id)] == "delivered"
                old = found[variant]
                found[variant] = VariantResult(old.sent + 1, old.hits + int(hit))
        return found

    async def release(self, run_id: int, decision: Decision, now: datetime) -> int | None:
        async with self._db.uow_factory() as uow:
            run = uow.state.runs[run_id]
            if run.ab_result is not None:
                return None
            run.ab_result, run.ab_due_at = decision.to_json(), None
            await uow.commit()
        held = [
            key
            for key, variant in self._queue.variants.items()
            if key[0] == run_id and variant is None and self._queue.rows[key] == "pending"
        ]
        self._queue.variants.update(dict.fromkeys(held, decision.winner))
        return len(held)


class MemoryEngagementReader:
    """``domain.ports.stats.EngagementReader`` on a ``MemoryDatabase``'s committed data, as
    the SQL reader reads outside any unit of work."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    async def run_content(self, run_id: int) -> dict[str, object] | None:
        run = self._db.state.runs.get(run_id)
        return copy.deepcopy(run.content) if run is not None else None

    async def engagement(self, run_id: int) -> RunEngagement:
        return RunEngagement(**self._db.state.run_tracking.get(run_id, {}))

    async def link_clicks(self, run_id: int) -> dict[int, LinkClicks]:
        return {
            index: LinkClicks(index, "", **counts)
            for (run, index), counts in sorted(self._db.state.link_tracking.items())
            if run == run_id
        }


class MemoryTokenRunReader:
    """``domain.ports.api.TokenRunReader`` on a ``MemoryDatabase``'s committed data: the
    token store's and the run repository's own reads, outside any unit of work."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    async def token_and_run(self, token_hash: str, run_id: int) -> TokenAndRun | None:
        async with self._db.uow_factory() as uow:
            found = await uow.api_tokens.with_owner(token_hash)
            run = await uow.runs.get_with_ownership(run_id)
        return None if found is None else (*found, run)


class StatsUnread:
    """A ``domain.ports.stats.StatsReader`` that must not be read: statistics are SQL
    (``tests/integration/db/test_stats.py``). Passing it shows a use case refuses, or has
    nothing to count, before it reads any figure."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"StatsReader.{name} read: test statistics on the SQL reader")
