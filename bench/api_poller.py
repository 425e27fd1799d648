"""The API client of ``bench/api.py``, in a process of its own (as a user's system is):
polls ``GET /runs/{id}`` and prints the latencies in seconds as JSON.

    python bench/api_poller.py BASE_URL RUN_ID (--count N | --until-done)

The token comes from ``MAILFORGE_BENCH_TOKEN``. In the bot's own process the client shared
the bot's event loop and the delivery thread's GIL, so its latency counted its own waits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("run_id", type=int)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--until-done", action="store_true")
    args = parser.parse_args()
    found = asyncio.run(poll(args.base, args.run_id, until_done=args.until_done, count=args.count))
    print(json.dumps(found))


if __name__ == "__main__":
    main()
