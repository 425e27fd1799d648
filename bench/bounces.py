"""Benchmark: bounce messages classified per second.

    .venv/bin/python bench/bounces.py            # 10,000 bounces
    .venv/bin/python bench/bounces.py --quick    # 500 (the test suite)

The messages are the real-world samples of ``tests/data/bounces`` (Postfix, Exim, Gmail,
Yandex and Mail.ru DSNs, an ARF complaint, an auto-reply, a malformed one, a forged
token), each with a VERP address of its own. Prints the rate of MailForge's classifier
(parse, ARF, RFC 3464, flufl.bounce's detectors, the signed token) and, measured in the
same run on the same messages, of the bare library: ``email`` parsing plus
``flufl.bounce.all_failures``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from contextlib import suppress
from email import message_from_bytes
from pathlib import Path

from flufl.bounce import all_failures

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.bounces import Verp
from domain.signing import Signer
from infrastructure.bounces import BounceClassifier

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "bounces"


def messages(count: int, verp: Verp) -> list[bytes]:
    samples = [path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))]
    return [
        samples[i % len(samples)].replace(b"@@VERP@@", verp.address(1_000 + i).encode())
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="bounce messages classified per second")
    parser.add_argument("--quick", action="store_true", help="500 messages (the test suite)")
    count = 500 if parser.parse_args().quick else 10_000
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    verp = Verp(Signer(b"bench-secret"), "bounces@news.example.com")
    batch = messages(count, verp)
    classifier = BounceClassifier(verp)

    started = time.perf_counter()
    kinds = Counter(classifier.classify(raw).kind.value for raw in batch)
    ours = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for raw in batch:
        with suppress(Exception):  # a detector trips over the malformed sample
            all_failures(message_from_bytes(raw))
    bare = count / (time.perf_counter() - started)
    found = ", ".join(f"{kind} {n:,}" for kind, n in sorted(kinds.items()))
    print(f"classify {count:,} bounces: {ours:,.0f} msg/s ({found})")
    print(f"bare email + flufl.bounce: {bare:,.0f} msg/s · ratio {ours / bare:.2f}")


if __name__ == "__main__":
    main()
