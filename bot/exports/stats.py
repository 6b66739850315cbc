"""The satisfaction figure with its uncertainty: Wilson interval and the verdict on a target.

With a few dozen responses per group a share of 87% may well be below 85% in truth; the
Wilson score interval (good for small samples and shares near 0 or 1) says how sure
the figure is, and the verdict says whether the target is met with confidence
(the lower bound is above it) or only on the point estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054

SURE, ESTIMATE, SHORT, EMPTY = "sure", "estimate", "short", "empty"


def wilson(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of successes/total as (low, high); (0, 0) when empty."""
    if total <= 0:
        return 0.0, 0.0
    share = successes / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (share + z2 / (2 * total)) / denominator
    half = z * math.sqrt(share * (1 - share) / total + z2 / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    """A share with the number behind it and its 95% interval."""

    counted: int
    hits: int

    @property
    def share(self) -> float:
        """Hits over counted (0 when nothing was counted)."""
        return self.hits / self.counted if self.counted else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval."""
        return wilson(self.hits, self.counted)

    def verdict(self, target: float) -> str:
        """SURE when the lower bound is above `target`, ESTIMATE when only the share is."""
        if self.counted == 0:
            return EMPTY
        if self.interval[0] > target:
            return SURE
        return ESTIMATE if self.share > target else SHORT
