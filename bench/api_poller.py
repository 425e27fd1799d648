"""The API client of ``bench/api.py``, in a process of its own (as a user's system is):
polls ``GET /runs/{id}`` and prints the latencies in seconds as JSON, or pushes members
and prints the members/s.

    python bench/api_poller.py BASE_URL RUN_ID (--count N | --until-done)
    python bench/api_poller.py BASE_URL LIST_ID --push TOTAL --per-call N --first K

The token comes from ``MAILFORGE_BENCH_TOKEN``. In the bot's own process the client shared
the bot's event loop and the delivery thread's GIL, so its latency counted its own waits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import httpx


async def poll(base: str, run_id: int, *, until_done: bool, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {os.environ['MAILFORGE_BENCH_TOKEN']}"}
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        while True:
            started = time.perf_counter()
            answer = await http.get(f"/runs/{run_id}")
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()
            if until_done and answer.json()["status"] != "running":
                return latencies
            if not until_done and len(latencies) >= count:
                return latencies
            await asyncio.sleep(0.01)


def members(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"email": f"u{i}@example.com", "name": f"User {i}", "fields": {"city": "Omsk", "n": i}}
        for i in range(start, start + count)
    ]


async def push(base: str, list_id: int, first: int, total: int, per_call: int) -> float:
    """Members/s of ``POST /lists/{id}/members`` in calls of ``per_call`` (each checked)."""
    headers = {"Authorization": f"Bearer {os.environ['MAILFORGE_BENCH_TOKEN']}"}
    bodies = [
        json.dumps({"members": members(start, per_call)}).encode()
        for start in range(first, first + total, per_call)
    ]  # encoded before the clock starts: the server's speed, not the client's
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        started = time.perf_counter()
        for body in bodies:
            answer = await http.post(
                f"/lists/{list_id}/members",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            answer.raise_for_status()
            if answer.json()["added"] != per_call:
                raise RuntimeError(answer.text)
        return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("run_id", type=int)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--until-done", action="store_true")
    parser.add_argument("--push", type=int, default=0, help="members to push (the id is a list's)")
    parser.add_argument("--per-call", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=0)
    args = parser.parse_args()
    if args.push:
        print(
            json.dumps(
                asyncio.run(push(args.base, args.run_id, args.first, args.push, args.per_call))
            )
        )
        return
    found = asyncio.run(poll(args.base, args.run_id, until_done=args.until_done, count=args.count))
    print(json.dumps(found))


if __name__ == "__main__":
    main()
