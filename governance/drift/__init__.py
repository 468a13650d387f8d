"""Drift detection, mart health checks and alerting.

Monitors are declared in the dbt ``meta`` of models and columns
(:mod:`.config`, thresholds in :mod:`.defaults`); :mod:`.check` evaluates
them with the statistics of :mod:`.stats`; :mod:`.history` keeps the
results in ``governance.drift_history`` and ``<target>/drift/``;
:mod:`.alerts` delivers alerts, graded by the incident-response runbook
(:mod:`.incidents`); :mod:`.lineage` emits the check's OpenLineage
events; :mod:`.run` ties one check together.
"""
