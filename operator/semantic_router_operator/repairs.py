"""How often drift may be repaired, per SemanticRouter (pure).

A flapping object (a controller or a person undoing every repair) must not make helm
run in a loop: each router may have at most `burst` repairs within `window` seconds;
a repair beyond that waits until the oldest one leaves the window. The state is what the
router's status reports (`status.driftRepair`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RepairLimit:
    burst: int = 3
    window: float = 300.0

    def describe(self) -> str:
        return f"at most {self.burst} repairs in {self.window:g}s"


@dataclass
class RepairBudget:
    """The repairs of one router within the current window (monotonic times)."""

    limit: RepairLimit
    times: deque[float] = field(default_factory=deque)
    total: int = 0

    def _expire(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.limit.window:
            self.times.popleft()

    def next_allowed(self, now: float) -> float:
        """When the next repair may run: `now`, or when the oldest leaves the window."""
        self._expire(now)
        if len(self.times) < self.limit.burst:
            return now
        return self.times[0] + self.limit.window

    def take(self, now: float) -> bool:
        """Count a repair at `now`; False (and nothing counted) when over the limit."""
        if self.next_allowed(now) > now:
            return False
        self.times.append(now)
        self.total += 1
        return True

    def limited(self, now: float) -> bool:
        return self.next_allowed(now) > now
