"""The privacy steps of a run, each recorded in the audit log.

* :func:`scan_warehouse` classifies every column of the raw and readable
  schemas, writes the findings to ``governance.pii_classification`` and to
  ``target/privacy/pii_report.json``;
* :func:`record_build` reads the manifest of the build that just ran and
  records which masking policies and which grants it applied;
* :func:`check_leaks` proves that no raw personal value reached a
  relation outside the restricted schemas.

Each writes one audit record carrying the run id, so an auditor can tell
which scan, build and check belong to the same ``diamond run``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from diamond.access import RESTRICTED_SCHEMAS
from diamond.dbt import read_manifest
from diamond.errors import DiamondError
from diamond.settings import PostgresSettings, check_target, duckdb_path
from governance.audit import record
from governance.privacy.leaks import LeakReport, find_leaks

log = logging.getLogger(__name__)

#: Schemas the scan reads: the restricted raw data, to classify it, and
#: every schema dbt builds, to catch personal data that reached them: the
#: model's features and outputs in ``ml`` too, which name players.
SCAN_SCHEMAS = (*RESTRICTED_SCHEMAS, "staging", "intermediate", "marts", "ml")


class PrivacyError(DiamondError):
    """A privacy check found a problem; the message lists every one."""


def _target_dir() -> Path:
    from governance.lineage.transport import default_target_dir

    return default_target_dir()


def report_path() -> Path:
    """Where the scan's JSON report goes: ``target/privacy/pii_report.json``."""
    return _target_dir() / "privacy" / "pii_report.json"


def _run_id() -> str | None:
    return os.environ.get("DIAMOND_RUN_ID")


def scan_warehouse(
    target: str | None = None,
    schemas: Sequence[str] = SCAN_SCHEMAS,
    *,
    sample_rows: int = 200,
    progress: Callable[[str], None] = print,
) -> list:
    """Classify every column of ``schemas``, store and report the findings."""
    from governance.privacy import scan

    target = check_target(target)
    progress(f"scanning {', '.join(schemas)} on {target} for personal data")
    if target == "duckdb":
        import duckdb

        findings = scan.scan_duckdb(duckdb_path(), schemas, sample_rows=sample_rows)
        with duckdb.connect(str(duckdb_path())) as con:
            scan.write_table_duckdb(con, findings)
    elif target == "postgres":
        import psycopg2

        dsn = PostgresSettings.from_env().dsn()
        findings = scan.scan_postgres(dsn, schemas, sample_rows=sample_rows)
        con = psycopg2.connect(dsn)
        try:
            scan.write_table_postgres(con, findings)
        finally:
            con.close()
    else:
        msg = (
            "the PII scan reads sampled rows and supports duckdb and postgres; "
            "on athena, scan the same data loaded into duckdb"
        )
        raise DiamondError(msg)
    path = scan.write_report(findings, report_path())
    by_type = Counter(f.pii_type for f in findings)
    record(
        "privacy.scan",
        target=target,
        run_id=_run_id(),
        details={
            "schemas": list(schemas),
            "columns_flagged": len(findings),
            "by_type": dict(sorted(by_type.items())),
            "report": str(path),
        },
    )
    progress(
        f"{len(findings)} personal-data columns in "
        f"{len({f.relation for f in findings})} relations; report: {path}"
    )
    return findings


def load_findings(path: Path | None = None) -> list:
    """The findings of the last scan, read back from its JSON report."""
    from governance.privacy.scan import ColumnFinding

    path = path or report_path()
    if not path.is_file():
        msg = f"no scan report at {path}: run `diamond pii scan` first"
        raise DiamondError(msg)
    data = json.loads(path.read_text(encoding="utf-8"))
    return [ColumnFinding(**item) for item in data["findings"]]


def _column_meta(column: dict[str, Any]) -> dict[str, Any]:
    meta = dict((column.get("config") or {}).get("meta") or {})
    meta.update(column.get("meta") or {})
    return meta


def masking_applied(manifest: dict[str, Any]) -> list[dict[str, str]]:
    """Every model column with a masking policy other than ``none``."""
    applied = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        for name, column in sorted(node.get("columns", {}).items()):
            policy = _column_meta(column).get("masking_policy")
            if policy and policy != "none":
                applied.append(
                    {
                        "relation": f"{node['schema']}.{node['name']}",
                        "column": name,
                        "policy": policy,
                    }
                )
    return sorted(applied, key=lambda a: (a["relation"], a["column"]))


def grants_applied(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Role -> schemas whose relations dbt granted it select on."""
    roles: dict[str, set[str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        grants = (node.get("config") or {}).get("grants") or {}
        for role in grants.get("select", []):
            roles.setdefault(role, set()).add(node["schema"])
    return {role: sorted(schemas) for role, schemas in sorted(roles.items())}


def record_build(target: str | None = None, manifest_path: Path | None = None) -> None:
    """Audit what the last build applied: masking policies and grants."""
    target = check_target(target)
    manifest = read_manifest(manifest_path or _target_dir(), hint="`diamond build`")
    masking = masking_applied(manifest)
    record(
        "dbt.masking",
        target=target,
        run_id=_run_id(),
        details={
            "columns": len(masking),
            "by_policy": dict(sorted(Counter(m["policy"] for m in masking).items())),
            "applied": masking,
        },
    )
    if target == "postgres":
        from diamond.access import ROLES

        record(
            "access.grants",
            target=target,
            run_id=_run_id(),
            details={
                "select": grants_applied(manifest),
                "raw_readers": [r.name for r in ROLES if r.reads_raw],
            },
        )


def check_leaks(
    target: str | None = None,
    *,
    progress: Callable[[str], None] = print,
    found: LeakReport | None = None,
) -> LeakReport:
    """Run the leak check (or take its ``found`` result), record it, and
    raise when anything leaked."""
    target = check_target(target)
    result = found if found is not None else find_leaks(target)
    record(
        "privacy.leak_check",
        target=target,
        run_id=_run_id(),
        details={
            "needles": result.needles,
            "relations": result.relations,
            "columns": result.columns,
            "leaks": [str(leak) for leak in result.leaks],
        },
    )
    if not result.ok:
        lines = "\n  ".join(str(leak) for leak in result.leaks)
        msg = (
            f"{len(result.leaks)} column(s) outside the restricted schemas hold "
            f"raw personal values:\n  {lines}\nMask them with mask() and a "
            "masking_policy in the model's YAML."
        )
        raise PrivacyError(msg)
    progress(
        f"leak check: none of {result.needles:,} raw personal values found in "
        f"{result.columns:,} columns of {result.relations} relations"
    )
    return result
