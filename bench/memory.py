"""Peak resident memory of a benchmark process, shared by the benches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil


class RssSampler:
    """Peak resident memory of this process (or of ``pid``), sampled by a thread (and by
    explicit calls)."""

    def __init__(self, interval: float = 0.05, pid: int | None = None) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0

    def sample(self) -> int:
        rss = int(self._process.memory_info().rss)
        self.peak = max(self.peak, rss)
        return rss

    @contextmanager
    def running(self) -> Iterator[RssSampler]:
        self.peak = self.sample()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()
