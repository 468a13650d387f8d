"""The statistics behind a drift verdict, on numpy arrays.

Wasserstein, PSI, chi-squared and Jensen-Shannon are computed here from
sorted arrays and counts, so a monitor of many columns costs a sort and a
few ``searchsorted`` calls per column. The two-sample Kolmogorov-Smirnov
p-value comes from scipy: its exact small-sample distribution is subtle,
and the KS test is only used on small references, where it is cheap. The
test suite checks every statistic against scipy on the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

#: Proportions below this are raised to it before taking logarithms, so an
#: empty bin or category adds a large but finite term.
PROPORTION_FLOOR = 1e-4
#: Floor of the reference standard deviation that normalises Wasserstein,
#: so a constant reference does not divide by zero.
STD_FLOOR = 1e-3


@dataclass(frozen=True)
class TestResult:
    """One statistical test of one column: the number, the line it is held
    against and which side of the line means drift."""

    method: str
    statistic: float
    threshold: float
    drifted: bool
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "p_value": self.p_value,
        }


def ks_test(reference: np.ndarray, current: np.ndarray, alpha: float) -> TestResult:
    """Two-sample Kolmogorov-Smirnov: drift when the p-value is below alpha."""
    found = scipy_stats.ks_2samp(reference, current)
    p_value = float(found.pvalue)
    return TestResult(
        "ks", float(found.statistic), alpha, bool(p_value < alpha), p_value
    )


def wasserstein_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """First Wasserstein distance between two samples: the area between
    their empirical distribution functions."""
    return _wasserstein_sorted(np.sort(reference), np.sort(current))


def _wasserstein_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    # A stable sort finds the two sorted runs and merges them in one pass.
    points = np.sort(np.concatenate([ref, cur]), kind="stable")
    widths = np.diff(points)
    ref_cdf = np.searchsorted(ref, points[:-1], side="right") / ref.size
    cur_cdf = np.searchsorted(cur, points[:-1], side="right") / cur.size
    return float(np.sum(np.abs(ref_cdf - cur_cdf) * widths))


def wasserstein_test(
    reference: np.ndarray,
    current: np.ndarray,
    threshold: float,
    *,
    presorted: bool = False,
) -> TestResult:
    """Wasserstein distance in units of the reference standard deviation."""
    if not presorted:
        reference, current = np.sort(reference), np.sort(current)
    scale = max(float(np.std(reference)), STD_FLOOR)
    value = _wasserstein_sorted(reference, current) / scale
    return TestResult("wasserstein", value, threshold, bool(value >= threshold))


def _floored(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total else np.zeros_like(counts, dtype=float)
    return np.maximum(shares, PROPORTION_FLOOR)


def psi(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """Population stability index over quantile bins of the reference.

    Bin edges are the reference's ``bins``-quantiles; repeated edges (a
    discrete column) merge their bins. A bin holds values from its lower
    edge up to, not including, its upper edge; values outside the
    reference range fall in the first or last bin.
    """
    return _psi_sorted(np.sort(reference), np.sort(current), bins)


def _bin_counts(values: np.ndarray, inner: np.ndarray) -> np.ndarray:
    below = np.searchsorted(values, inner, side="left")
    return np.diff(np.concatenate([[0], below, [values.size]])).astype(float)


def _psi_sorted(ref: np.ndarray, cur: np.ndarray, bins: int) -> float:
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)))
    inner = edges[1:-1]
    expected = _floored(_bin_counts(ref, inner))
    actual = _floored(_bin_counts(cur, inner))
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi_test(
    reference: np.ndarray,
    current: np.ndarray,
    threshold: float,
    bins: int,
    *,
    presorted: bool = False,
) -> TestResult:
    """PSI against its threshold."""
    if not presorted:
        reference, current = np.sort(reference), np.sort(current)
    value = _psi_sorted(reference, current, bins)
    return TestResult("psi", value, threshold, bool(value >= threshold))


def category_counts(
    reference: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every category seen in either sample, aligned.

    Categories are found by hashing (pandas' factorize), not by sorting
    strings, which is the slow part on large samples."""
    codes, categories = pd.factorize(np.concatenate([reference, current]))
    ref_codes = codes[: reference.size]
    cur_codes = codes[reference.size :]
    return (
        np.bincount(ref_codes, minlength=categories.size).astype(float),
        np.bincount(cur_codes, minlength=categories.size).astype(float),
    )


def chi_squared_test(
    ref_counts: np.ndarray, cur_counts: np.ndarray, alpha: float
) -> TestResult:
    """Pearson's chi-squared test of homogeneity on the 2 x k table of
    counts (no continuity correction): drift when p < alpha."""
    table = np.vstack([ref_counts, cur_counts])
    if table.shape[1] < 2:
        # One category on both sides: the samples cannot differ.
        return TestResult("chi_squared", 0.0, alpha, False, 1.0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    p_value = float(scipy_stats.chi2.sf(statistic, table.shape[1] - 1))
    return TestResult("chi_squared", statistic, alpha, bool(p_value < alpha), p_value)


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) between two count vectors."""
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    divergence = max((left.sum() + right.sum()) / 2, 0.0)
    return float(np.sqrt(divergence))


def jensen_shannon_test(
    ref_counts: np.ndarray, cur_counts: np.ndarray, threshold: float
) -> TestResult:
    value = jensen_shannon(ref_counts, cur_counts)
    return TestResult("jensen_shannon", value, threshold, bool(value >= threshold))


def numeric_tests(
    reference: np.ndarray,
    current: np.ndarray,
    settings: dict[str, Any],
    method: str | None = None,
) -> tuple[TestResult, list[TestResult]]:
    """The deciding test of a numeric column and every test computed.

    Without ``method``, KS decides on a small reference and normalised
    Wasserstein on a large one; PSI is always computed beside it. Each
    sample is sorted once and shared by every test.
    """
    reference = np.sort(reference)
    current = np.sort(current)
    by_size = "ks" if reference.size <= settings["small_sample"] else "wasserstein"
    method = method or by_size
    distribution = method if method in ("ks", "wasserstein") else by_size
    done: dict[str, TestResult] = {}
    if distribution == "ks":
        done["ks"] = ks_test(reference, current, settings["ks_p_value"])
    else:
        done["wasserstein"] = wasserstein_test(
            reference, current, settings["wasserstein"], presorted=True
        )
    done["psi"] = psi_test(
        reference, current, settings["psi"], settings["psi_bins"], presorted=True
    )
    return done[method], list(done.values())


def categorical_tests(
    reference: np.ndarray,
    current: np.ndarray,
    settings: dict[str, Any],
    method: str | None = None,
) -> tuple[TestResult, list[TestResult]]:
    """The deciding test of a categorical column: chi-squared on a small
    reference, Jensen-Shannon distance on a large one."""
    if method is None:
        small = reference.size <= settings["small_sample"]
        method = "chi_squared" if small else "jensen_shannon"
    ref_counts, cur_counts = category_counts(reference, current)
    if method == "chi_squared":
        result = chi_squared_test(ref_counts, cur_counts, settings["ks_p_value"])
    else:
        result = jensen_shannon_test(ref_counts, cur_counts, settings["jensen_shannon"])
    return result, [result]
