"""The drift statistics against scipy, a worked PSI example, and the
behaviour that matters: a real shift is found, resampling noise is not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.spatial import distance

from governance.drift.defaults import DEFAULTS
from governance.drift.stats import (
    categorical_tests,
    category_counts,
    chi_squared_test,
    jensen_shannon,
    numeric_tests,
    psi,
    wasserstein_distance,
    wasserstein_test,
)

SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_wasserstein_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rng.integers(5, 3000))
    b = rng.gamma(2.0, size=rng.integers(5, 3000)).round(1)
    assert wasserstein_distance(a, b) == pytest.approx(
        scipy_stats.wasserstein_distance(a, b), rel=1e-10, abs=1e-12
    )
    normalised = wasserstein_test(a, b, 0.1)
    expected = scipy_stats.wasserstein_distance(a, b) / np.std(a)
    assert normalised.statistic == pytest.approx(expected, rel=1e-10)
    assert normalised.drifted == (expected >= 0.1)


@pytest.mark.parametrize("seed", SEEDS)
def test_ks_verdict_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=400)
    b = rng.normal(loc=0.15 * (seed % 3), size=300)
    deciding, _ = numeric_tests(a, b, DEFAULTS)
    expected = scipy_stats.ks_2samp(a, b)
    assert deciding.method == "ks"
    assert deciding.p_value == pytest.approx(expected.pvalue)
    assert deciding.drifted == (expected.pvalue < 0.05)


@pytest.mark.parametrize("seed", SEEDS)
def test_chi_squared_and_jensen_shannon_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdef"))
    ref = rng.choice(letters, size=700, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    cur = rng.choice(letters[: 4 + seed % 3], size=500)
    ref_counts, cur_counts = category_counts(ref, cur)
    expected = scipy_stats.chi2_contingency(
        np.vstack([ref_counts, cur_counts]), correction=False
    )
    found = chi_squared_test(ref_counts, cur_counts, 0.05)
    assert found.statistic == pytest.approx(expected.statistic)
    assert found.p_value == pytest.approx(expected.pvalue)
    assert found.drifted == (expected.pvalue < 0.05)
    assert jensen_shannon(ref_counts, cur_counts) == pytest.approx(
        distance.jensenshannon(
            ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
        )
    )


def test_psi_worked_example() -> None:
    # Reference 0..9 repeated: the 10 quantile bins hold one value each
    # (10% of the rows). The current sample puts 20% of its rows in the two
    # lowest bins and 5% in each of the eight others.
    reference = np.tile(np.arange(10.0), 100)
    current = np.concatenate(
        [np.repeat([0.0, 1.0], 20), np.repeat(np.arange(2.0, 10), 5)]
    )
    # By hand: 2 * (0.20 - 0.10) * ln(2) + 8 * (0.05 - 0.10) * ln(0.5)
    by_hand = 2 * 0.1 * np.log(2) + 8 * (-0.05) * np.log(0.5)
    assert by_hand == pytest.approx(0.5 * np.log(2) * 1.2)
    assert psi(reference, current, 10) == pytest.approx(by_hand)
    assert psi(reference, reference, 10) == pytest.approx(0.0)


def test_psi_outside_the_reference_range_lands_in_the_end_bins() -> None:
    reference = np.arange(100.0)
    assert psi(reference, reference + 1000, 10) > 5
    assert psi(reference, reference - 1000, 10) > 5


def test_one_standard_deviation_shift_is_detected_small_and_large() -> None:
    rng = np.random.default_rng(7)
    for size in (300, 5000):
        reference = rng.normal(10, 2, size=size)
        shifted = rng.normal(12, 2, size=size // 2)
        deciding, done = numeric_tests(reference, shifted, DEFAULTS)
        assert deciding.method == ("ks" if size <= 1000 else "wasserstein")
        assert deciding.drifted, deciding
        assert {t.method: t for t in done}["psi"].drifted


def test_resampled_reference_stays_within_the_false_alarm_rate() -> None:
    """Samples of the reference population flag no more often than the
    configured p-value allows (KS), and essentially never for the distance
    tests, whose thresholds sit far above sampling noise."""
    rng = np.random.default_rng(2024)
    population = rng.gamma(2.0, 3.0, size=20000)
    flagged = {"ks": 0, "wasserstein": 0, "psi": 0}
    trials = 200
    for _ in range(trials):
        small_ref = rng.choice(population, 500)
        small_cur = rng.choice(population, 300)
        deciding, _ = numeric_tests(small_ref, small_cur, DEFAULTS)
        flagged["ks"] += deciding.drifted
        large_ref = rng.choice(population, 3000)
        large_cur = rng.choice(population, 1500)
        deciding, done = numeric_tests(large_ref, large_cur, DEFAULTS)
        flagged["wasserstein"] += deciding.drifted
        flagged["psi"] += {t.method: t for t in done}["psi"].drifted
    # Binomial(200, 0.05) stays below 20 with probability > 0.99.
    assert flagged["ks"] <= 20
    assert flagged["wasserstein"] <= 2
    assert flagged["psi"] <= 2


def test_categorical_switches_test_on_reference_size() -> None:
    rng = np.random.default_rng(3)
    small = rng.choice(["AL", "NL"], 400)
    large = rng.choice(["AL", "NL"], 4000)
    assert categorical_tests(small, small, DEFAULTS)[0].method == "chi_squared"
    found = categorical_tests(large, np.array(["AL"] * 500), DEFAULTS)[0]
    assert found.method == "jensen_shannon"
    assert found.drifted


def test_method_override_lets_psi_decide() -> None:
    rng = np.random.default_rng(5)
    reference = rng.normal(size=3000)
    deciding, done = numeric_tests(reference, reference + 0.05, DEFAULTS, "psi")
    assert deciding.method == "psi"
    assert [t.method for t in done] == ["wasserstein", "psi"]


def test_constant_reference_does_not_divide_by_zero() -> None:
    reference = np.full(2000, 5.0)
    deciding, _ = numeric_tests(reference, np.full(100, 5.0), DEFAULTS)
    assert not deciding.drifted
    deciding, _ = numeric_tests(reference, np.full(100, 6.0), DEFAULTS)
    assert deciding.drifted
