"""The service's limits as values: a rate such as ``30/hour`` and a size such as ``10MB``.

The rate is a sliding window: a student may start ``count`` checks in any ``seconds``; the next
one is refused until the oldest of them leaves the window, and the refusal says in how many
seconds. Answers from the record (the same bytes graded before) and checks the service failed
are not counted (see ``records.Records.accept``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
         "hour": 3600, "d": 86400, "day": 86400}
SIZES = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
         "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


@dataclass(frozen=True)
class Rate:
    """At most ``count`` checks in any ``seconds``."""

    count: int
    seconds: float

    def __str__(self) -> str:
        for name in ("day", "hour", "minute"):
            if self.seconds == UNITS[name]:
                return f"{self.count}/{name}"
        return f"{self.count}/{self.seconds:g}s"

    def retry_after(self, times: Sequence[float], now: float) -> int | None:
        """Seconds until one more check is allowed, given the times of the counted ones;
        None if it is allowed now."""
        recent = sorted(t for t in times if t > now - self.seconds)
        if len(recent) < self.count:
            return None
        frees = recent[len(recent) - self.count] + self.seconds  # then count - 1 are left
        return max(1, math.ceil(frees - now))


def parse_rate(text: str) -> Rate:
    """``"30/hour"``, ``"5/minute"``, ``"100/day"``, ``"10/15min"``; raises ValueError."""
    found = _RATE.match(text.lower())
    if not found or found[3] not in UNITS or int(found[1]) < 1:
        raise ValueError(f"{text!r} is no rate: write checks per time, such as 30/hour, "
                         "5/minute or 10/15min")
    return Rate(int(found[1]), int(found[2] or 1) * UNITS[found[3]])


def parse_size(text: str) -> int:
    """``"10MB"``, ``"512k"``, ``"1048576"`` as bytes; raises ValueError."""
    found = _SIZE.match(text.lower())
    if not found or found[2] not in SIZES or float(found[1]) <= 0:
        raise ValueError(f"{text!r} is no size: write bytes, or with a unit such as 10MB or 512KB")
    return int(float(found[1]) * SIZES[found[2]])


def describe_size(size: int) -> str:
    return f"{size / 1e6:.3g} MB" if size >= 1_000_000 else f"{size / 1e3:.3g} KB"
