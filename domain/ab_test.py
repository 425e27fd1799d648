"""A/B tests: the rules (issue 21, point 4).

2-4 variants of a mailing's subject, text or whole content go to a sample of its
recipients (e.g. 20 %), split evenly and at random; after a waiting time the variant with
the best rate by the chosen metric is the winner, and the rest get it. Which sample and
which variant a recipient falls in is a pure function of the test's seed and the address
id (``bucket``), so a snapshot can select them in SQL and a restart can never reshuffle
anyone. The winner is told with its counts and margin, and whether the difference could
be chance (a two-proportion z-test against the runner-up, 95 %).

A mailing's test (``ABTest``, the mailing option ``ab_test``) keeps the alternatives to
its own content: variant A is the mailing's subject and text, B-D change one part (the
subject, the text, or both). The bucket is an MD5 of ``seed:address id`` so that the
snapshot's SQL computes the very same split (``infrastructure/db/segments.py``).
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.errors import InvalidInput
from domain.mailings import Channel

MIN_VARIANTS, MAX_VARIANTS = 2, 4
MIN_PER_VARIANT = 10  # fewer recipients per variant than this cannot tell anything
BUCKETS = 10_000  # sample shares in hundredths of a per cent
Z_95 = 1.959964  # two-sided 95 %


AB_TEST = "ab_test"  # the mailing option
WAIT_MIN, WAIT_MAX = timedelta(minutes=15), timedelta(days=7)
LETTERS = "ABCD"
# When the rest of an A/B run may go: not before the winner is known (then: at once).
HELD = datetime(9999, 1, 1, tzinfo=UTC)


class Metric(enum.StrEnum):
    opens = "opens"  # email: recipients who opened
    clicks = "clicks"  # email and Telegram: recipients who clicked
    answers = "answers"  # Telegram: recipients who pressed an answer button
    delivered = "delivered"  # any channel: delivered and not refused


class Part(enum.StrEnum):
    """What the variants change."""

    subject = "subject"
    text = "text"
    both = "both"  # the whole content: subject and text


def metrics_for(channel: Channel, *, tracked: bool, answers: bool) -> tuple[Metric, ...]:
    """What a test on ``channel`` can be judged by: opens (email, tracked), clicks (tracked
    email and Telegram), answer buttons (Telegram with answers), delivered (any)."""
    found: list[Metric] = []
    if tracked and channel is Channel.email:
        found += [Metric.opens, Metric.clicks]
    if tracked and channel is Channel.telegram:
        found.append(Metric.clicks)
    if answers and channel is Channel.telegram:
        found.append(Metric.answers)
    return (*found, Metric.delivered)


def parts_for(channel: Channel) -> tuple[Part, ...]:
    return tuple(Part) if channel in (Channel.email, Channel.sendsay) else (Part.text,)


@dataclass(frozen=True, slots=True)
class Variant:
    subject: str | None
    body: str


def check_variants(variants: list[Variant]) -> None:
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise InvalidInput("ab-variant-count", low=MIN_VARIANTS, high=MAX_VARIANTS)
    seen: set[tuple[str | None, str]] = set()
    for number, variant in enumerate(variants, start=1):
        key = ((variant.subject or "").strip(), variant.body.strip())
        if key in seen:
            raise InvalidInput("ab-variants-same", number=letter(number - 1))
        seen.add(key)


def check_sample(reachable: int, percent: float, variants: int) -> int:
    """The sample's size; refused when it cannot give every variant enough people."""
    if not 1 <= percent <= 90:
        raise InvalidInput("ab-sample-percent")
    size = math.floor(reachable * percent / 100)
    if size < variants * MIN_PER_VARIANT:
        raise InvalidInput(
            "ab-sample-too-small", size=size, variants=variants, least=MIN_PER_VARIANT
        )
    return size


def bucket(seed: str, address_id: int) -> int:
    """0..BUCKETS-1, uniform and stable for (seed, address): the first 32 bits of an MD5
    (not for security: PostgreSQL has ``md5()``, and SQLite gets this very function)."""
    digest = hashlib.md5(f"{seed}:{address_id}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % BUCKETS


def sample_limit(percent: float) -> int:
    """The buckets below which an address is in the sample."""
    return round(percent * BUCKETS / 100)


def placement(seed: str, address_id: int, percent: float, variants: int) -> int | None:
    """The variant (0-based) an address gets in the sample, or None: it is in the rest."""
    value = bucket(seed, address_id)
    limit = sample_limit(percent)
    if value >= limit:
        return None
    return value * variants // limit  # even slices of the sample's buckets


@dataclass(frozen=True, slots=True)
class VariantResult:
    sent: int  # delivered to (the denominator)
    hits: int  # by the metric: opened, clicked, or delivered and not refused

    @property
    def rate(self) -> float:
        return self.hits / self.sent if self.sent else 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    winner: int  # 0-based
    rate: float
    runner_up: int
    margin: float  # winner's rate minus the runner-up's, in points of 1.0
    within_chance: bool  # the difference could be chance (95 %)


def verdict(results: list[VariantResult]) -> Verdict:
    """The variant with the best rate (ties: the first); compared with the runner-up."""
    if len(results) < MIN_VARIANTS:
        raise ValueError("a verdict needs two variants or more")
    order = sorted(range(len(results)), key=lambda i: (-results[i].rate, i))
    best, second = results[order[0]], results[order[1]]
    return Verdict(
        winner=order[0],
        rate=best.rate,
        runner_up=order[1],
        margin=best.rate - second.rate,
        within_chance=not _significant(best, second),
    )


def _significant(a: VariantResult, b: VariantResult) -> bool:
    """A two-proportion z-test: the rates differ at 95 %."""
    if not a.sent or not b.sent:
        return False
    pooled = (a.hits + b.hits) / (a.sent + b.sent)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent))
    if spread == 0:
        return False
    return abs(a.rate - b.rate) / spread > Z_95


@dataclass(frozen=True, slots=True)
class Split:
    """How a run's snapshot places its recipients: ``variants`` even slices of a
    ``percent`` sample, the rest held back until the winner is known."""

    seed: str
    percent: float
    variants: int


@dataclass(frozen=True, slots=True)
class ABTest:
    """A mailing's A/B test: the alternatives (B, C, D) to its own content (A)."""

    part: Part
    alternatives: tuple[Variant, ...] = ()
    percent: float = 20
    wait: timedelta = timedelta(hours=4)
    metric: Metric = Metric.delivered

    @property
    def count(self) -> int:
        """Variants in all, the mailing's own included."""
        return 1 + len(self.alternatives)

    def variants(self, subject: str | None, body: str) -> list[Variant]:
        """A, then each alternative with the parts it does not change taken from A."""
        own = Variant(subject, body)
        found = [own]
        for alt in self.alternatives:
            if self.part is Part.subject:
                found.append(Variant(alt.subject, body))
            elif self.part is Part.text:
                found.append(Variant(subject, alt.body))
            else:
                found.append(alt)
        return found

    def adding(self, variant: Variant, subject: str | None, body: str) -> ABTest:
        """One more alternative; refused past 4 variants or when it changes nothing."""
        if self.count >= MAX_VARIANTS:
            raise InvalidInput("ab-variant-count", low=MIN_VARIANTS, high=MAX_VARIANTS)
        bigger = replace(self, alternatives=(*self.alternatives, variant))
        found = bigger.variants(subject, body)
        seen = {_key(v) for v in found[:-1]}
        if _key(found[-1]) in seen:
            raise InvalidInput("ab-variants-same", number=LETTERS[len(found) - 1])
        return bigger

    def without(self, index: int) -> ABTest:
        """Without alternative ``index`` (1-based, as B is 1)."""
        kept = tuple(v for i, v in enumerate(self.alternatives, start=1) if i != index)
        return replace(self, alternatives=kept)

    def split(self, seed: str) -> Split:
        return Split(seed, self.percent, self.count)

    def to_json(self) -> dict[str, Any]:
        return {
            "part": self.part.value,
            "alternatives": [[v.subject, v.body] for v in self.alternatives],
            "percent": self.percent,
            "wait_minutes": int(self.wait.total_seconds() // 60),
            "metric": self.metric.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ABTest | None:
        if not data:
            return None
        return cls(
            part=Part(data["part"]),
            alternatives=tuple(Variant(s, str(b)) for s, b in data.get("alternatives") or ()),
            percent=float(data.get("percent", 20)),
            wait=timedelta(minutes=int(data.get("wait_minutes", 240))),
            metric=Metric(data.get("metric", Metric.delivered.value)),
        )


def _key(variant: Variant) -> tuple[str, str]:
    return ((variant.subject or "").strip(), variant.body.strip())


def parse_variant(part: Part, text: str) -> Variant:
    """A typed alternative: the subject, the text, or (both) the subject on the first line
    and the text below it."""
    if not text.strip():
        raise InvalidInput("ab-variant-empty")
    if part is Part.subject:
        return Variant(" ".join(text.split()), "")
    if part is Part.text:
        return Variant(None, text)
    subject, _, body = text.partition("\n")
    if not subject.strip() or not body.strip():
        raise InvalidInput("ab-variant-needs-both")
    return Variant(" ".join(subject.split()), body.strip("\n"))


def parse_percent(text: str) -> float:
    cleaned = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise InvalidInput("ab-sample-percent") from None
    if not 1 <= value <= 90 or math.isnan(value):
        raise InvalidInput("ab-sample-percent")
    return value


_WAIT_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(m|min|h|d|м|мин|ч|д)?\s*$", re.IGNORECASE)
_UNITS = {"m": 1, "min": 1, "м": 1, "мин": 1, "h": 60, "ч": 60, "d": 1440, "д": 1440}


def parse_wait(text: str) -> timedelta:
    """``"4h"``, ``"90m"``, ``"1d"`` (a bare number is hours), from 15 minutes to 7 days."""
    match = _WAIT_RE.match(text)
    if match is None:
        raise InvalidInput("ab-wait-invalid", low=15, high=7)
    number = float(match.group(1).replace(",", "."))
    unit = _UNITS[(match.group(2) or "h").lower()]
    wait = timedelta(minutes=round(number * unit))
    if not WAIT_MIN <= wait <= WAIT_MAX:
        raise InvalidInput("ab-wait-invalid", low=15, high=7)
    return wait


def letter(index: int) -> str:
    return LETTERS[index] if 0 <= index < len(LETTERS) else str(index + 1)


@dataclass(frozen=True, slots=True)
class Decision:
    """Which variant went to the rest, and why: the sample's results at that moment."""

    winner: int  # 0-based
    by_hand: bool
    metric: Metric
    results: tuple[VariantResult, ...] = field(default=())
    within_chance: bool = False
    margin: float = 0.0  # the winner's rate minus the runner-up's

    @classmethod
    def of(
        cls, results: list[VariantResult], metric: Metric, chosen: int | None = None
    ) -> Decision:
        """The best by ``metric``, or ``chosen`` by hand (compared with the best other)."""
        judged = verdict(results)
        if chosen is None:
            return cls(
                judged.winner, False, metric, tuple(results), judged.within_chance, judged.margin
            )
        if not 0 <= chosen < len(results):
            raise InvalidInput("ab-no-such-variant")
        others = [i for i in range(len(results)) if i != chosen]
        best = max(others, key=lambda i: (results[i].rate, -i))
        margin = results[chosen].rate - results[best].rate
        close = not _significant(results[chosen], results[best])
        return cls(chosen, True, metric, tuple(results), close, margin)

    def to_json(self) -> dict[str, Any]:
        return {
            "winner": self.winner,
            "by_hand": self.by_hand,
            "metric": self.metric.value,
            "results": [[r.sent, r.hits] for r in self.results],
            "within_chance": self.within_chance,
            "margin": self.margin,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Decision | None:
        if not data:
            return None
        return cls(
            winner=int(data["winner"]),
            by_hand=bool(data.get("by_hand")),
            metric=Metric(data["metric"]),
            results=tuple(VariantResult(int(s), int(h)) for s, h in data.get("results") or ()),
            within_chance=bool(data.get("within_chance")),
            margin=float(data.get("margin", 0.0)),
        )
