"""Every default threshold of the drift and health checks, in one place.

A monitor's dbt ``meta`` may override any of these (see
:mod:`governance.drift.config`); what is not overridden comes from here.
The statistical defaults follow the choices Evidently documents for its
data-drift preset, so a verdict here means what it means there:

========================  =======  ============================================
key                       default  meaning
========================  =======  ============================================
``small_sample``          1000     reference rows at or below which the
                                   small-sample tests (KS, chi-squared) are used
``ks_p_value``            0.05     KS / chi-squared: drift when p-value < this
``wasserstein``           0.1      drift when the Wasserstein distance divided
                                   by the reference standard deviation >= this
``jensen_shannon``        0.1      drift when the Jensen-Shannon distance
                                   (natural log) >= this
``psi``                   0.2      drift when the population stability index
                                   over ``psi_bins`` reference quantile bins
                                   >= this
``psi_bins``              10       quantile bins of the reference for PSI
``drift_share``           0.5      a dataset drifts when at least this share
                                   of its monitored columns drift
``performance_increase``  0.1      performance drift when the current error
                                   exceeds the reference error by this share
``z_threshold``           3.0      health: anomaly when the absolute z-score
                                   of a row count or null rate is >= this
``min_history``           5        health: history points needed before a
                                   z-score is computed
``history_window``        20       health: the latest points the z-score uses
``row_count_min_std``     1.0      health: floor of the row-count standard
                                   deviation, so a constant history does not
                                   turn a one-row change into an infinite z
``null_rate_min_std``     0.001    health: the same floor for null rates
========================  =======  ============================================
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "small_sample": 1000,
    "ks_p_value": 0.05,
    "wasserstein": 0.1,
    "jensen_shannon": 0.1,
    "psi": 0.2,
    "psi_bins": 10,
    "drift_share": 0.5,
    "performance_increase": 0.1,
    "z_threshold": 3.0,
    "min_history": 5,
    "history_window": 20,
    "row_count_min_std": 1.0,
    "null_rate_min_std": 0.001,
}

#: Keys whose value must be a whole number.
INTEGER_KEYS = frozenset({"small_sample", "psi_bins", "min_history", "history_window"})

#: Statistical methods a column may force with ``method:``.
NUMERIC_METHODS = ("ks", "wasserstein", "psi")
CATEGORICAL_METHODS = ("chi_squared", "jensen_shannon")
