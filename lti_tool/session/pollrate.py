"""How often one guest session may poll the room's state: a token bucket per guest, per process.

A page polls every 2 s (every 10 s while hidden), once more after each of its own actions, and a
second tab doubles that; all of it stays far inside `RATE` per second with a `BURST` in hand. A
script polling as fast as it can gets 429 after the burst and then `RATE` answers per second.

The buckets live in the worker's memory on purpose: counting in the database or Redis would cost
every poll a write, several times what the poll itself costs (usually a 304 after one indexed
read), and a flood from one guest would still be a flood of writes. Nothing is shared, so with W
worker processes a flood gets at most W × (BURST + RATE × seconds) answers; other guests' polls
never wait on it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

RATE = 2.0  # polls per second, refilled continuously
BURST = 30  # polls in hand: a page that just opened, or came back from a hidden tab
MAX_SESSIONS = 20_000  # buckets kept per process; the least recently used one goes first


class PollBudget:
    def __init__(self, rate: float = RATE, burst: int = BURST, max_sessions: int = MAX_SESSIONS):
        self.rate, self.burst, self.max_sessions = rate, burst, max_sessions
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def take(self, key: str, now: datetime) -> float:
        """Spend one poll of `key`'s budget: 0.0 if it may go ahead, else the seconds to wait."""
        at = now.timestamp()
        with self._lock:
            tokens, then = self._buckets.pop(key, (float(self.burst), at))
            tokens = min(float(self.burst), tokens + max(0.0, at - then) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0.0 else tokens, at)
            if len(self._buckets) > self.max_sessions:
                self._buckets.popitem(last=False)
        return wait
