"""Spike detection on an entity's own history: a z-score against the days before, with a minimum count.

The standard deviation has a floor so a flat baseline (0, 0, 0 ...) does not turn one extra
article into an infinite z-score: for counts it is max(1, sqrt(mean)) (Poisson noise), for
shares 0.05. Days with no coverage at all carry no share and are left out of the share baseline.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

COUNT_STD_FLOOR = 1.0
SHARE_STD_FLOOR = 0.05


@dataclass(frozen=True)
class Spike:
    observed: float
    mean: float
    std: float
    z: float


def zscore(history: Sequence[float], observed: float, *, std_floor: float) -> Spike:
    mean = statistics.fmean(history) if history else 0.0
    std = statistics.pstdev(history) if len(history) > 1 else 0.0
    used = max(std, std_floor)
    return Spike(observed=observed, mean=mean, std=used, z=(observed - mean) / used)


def negative_volume_spike(history: Sequence[int], today: int, *, z_threshold: float, min_count: int) -> Spike | None:
    """Negative mentions today vs the same count on each baseline day (zero days included)."""
    if today < min_count:
        return None
    floor = max(COUNT_STD_FLOOR, math.sqrt(statistics.fmean(history))) if history else COUNT_STD_FLOOR
    spike = zscore([float(n) for n in history], float(today), std_floor=floor)
    return spike if spike.z >= z_threshold else None


def negative_share_spike(
    negative_history: Sequence[int],
    total_history: Sequence[int],
    negative_today: int,
    total_today: int,
    *,
    z_threshold: float,
    min_count: int,
) -> Spike | None:
    """Negative share of mentions today vs the share on each baseline day that had mentions."""
    if len(negative_history) != len(total_history):
        raise ValueError("negative and total histories must cover the same days")
    if negative_today < min_count or total_today <= 0:
        return None
    shares = [n / t for n, t in zip(negative_history, total_history, strict=True) if t > 0]
    spike = zscore(shares, negative_today / total_today, std_floor=SHARE_STD_FLOOR)
    return spike if spike.z >= z_threshold else None
