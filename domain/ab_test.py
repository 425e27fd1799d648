"""A/B tests: the rules (issue 21, point 4) — not yet wired to the dialog or the engine.

2-4 variants of a mailing's subject, text or whole content go to a sample of its
recipients (e.g. 20 %), split evenly and at random; after a waiting time the variant with
the best rate by the chosen metric is the winner, and the rest get it. Which sample and
which variant a recipient falls in is a pure function of the test's seed and the address
id (``bucket``), so a snapshot can select them in SQL and a restart can never reshuffle
anyone. The winner is told with its counts and margin, and whether the difference could
be chance (a two-proportion z-test against the runner-up, 95 %).
"""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass

from domain.errors import InvalidInput

MIN_VARIANTS, MAX_VARIANTS = 2, 4
MIN_PER_VARIANT = 10  # fewer recipients per variant than this cannot tell anything
BUCKETS = 10_000  # sample shares in hundredths of a per cent
Z_95 = 1.959964  # two-sided 95 %


class Metric(enum.StrEnum):
    opens = "opens"  # email: recipients who opened
    clicks = "clicks"  # email and Telegram: recipients who clicked
    delivered = "delivered"  # any channel: delivered and not refused


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
            raise InvalidInput("ab-variants-same", number=number)
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
    """0..BUCKETS-1, uniform and stable for (seed, address)."""
    digest = hashlib.blake2b(f"{seed}:{address_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def placement(seed: str, address_id: int, percent: float, variants: int) -> int | None:
    """The variant (0-based) an address gets in the sample, or None: it is in the rest."""
    value = bucket(seed, address_id)
    limit = round(percent * BUCKETS / 100)
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
