"""Spike detection as plain functions on synthetic daily series."""

from __future__ import annotations

import math

import pytest

from api.alerts.detection import negative_share_spike, negative_volume_spike, zscore


def test_a_jump_far_above_a_noisy_baseline_fires_with_its_z_score():
    history = [4, 6, 5, 5, 4, 6, 5, 5, 4, 6, 5, 5, 4, 6]  # mean 5, population std ~0.76 -> floored to sqrt(5)
    spike = negative_volume_spike(history, 20, z_threshold=3.0, min_count=5)
    assert spike is not None
    assert spike.mean == pytest.approx(5.0) and spike.std == pytest.approx(math.sqrt(5))
    assert spike.z == pytest.approx(15 / math.sqrt(5))


def test_ordinary_days_and_small_counts_do_not_fire():
    history = [4, 6, 5, 5, 4, 6, 5, 5, 4, 6, 5, 5, 4, 6]
    assert negative_volume_spike(history, 8, z_threshold=3.0, min_count=5) is None  # z = 1.3
    assert negative_volume_spike([0] * 14, 4, z_threshold=3.0, min_count=5) is None  # below the minimum count


def test_a_flat_zero_baseline_does_not_make_one_article_infinite():
    spike = negative_volume_spike([0] * 14, 5, z_threshold=3.0, min_count=5)
    assert spike is not None and spike.std == 1.0 and spike.z == 5.0
    assert negative_volume_spike([0] * 14, 1, z_threshold=3.0, min_count=1) is None  # z = 1


def test_an_entity_used_to_heavy_coverage_needs_a_bigger_jump():
    busy = [100, 110, 90, 105, 95, 100, 100, 110, 90, 105, 95, 100, 100, 100]
    assert negative_volume_spike(busy, 120, z_threshold=3.0, min_count=5) is None
    assert negative_volume_spike(busy, 160, z_threshold=3.0, min_count=5) is not None


def test_negative_share_spike_ignores_days_without_coverage():
    negatives = [1, 2, 0, 1, 2, 1, 0, 1, 2, 1, 0, 0, 1, 1]
    totals = [10, 20, 0, 10, 20, 10, 0, 10, 20, 10, 0, 0, 10, 10]  # 10 % negative on every covered day
    spike = negative_share_spike(negatives, totals, 6, 10, z_threshold=3.0, min_count=5)
    assert spike is not None and spike.mean == pytest.approx(0.1) and spike.observed == pytest.approx(0.6)
    assert spike.z == pytest.approx((0.6 - 0.1) / 0.05)
    assert negative_share_spike(negatives, totals, 2, 10, z_threshold=3.0, min_count=5) is None  # below minimum count
    assert negative_share_spike(negatives, totals, 5, 40, z_threshold=3.0, min_count=5) is None  # 12.5 %: z = 0.5
    with pytest.raises(ValueError, match="same days"):
        negative_share_spike([1], [1, 2], 5, 5, z_threshold=3.0, min_count=1)


def test_zscore_of_an_empty_history_uses_the_floor():
    assert zscore([], 3.0, std_floor=1.5).z == 2.0
