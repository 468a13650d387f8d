"""Tamper-evident, append-only audit log of governed actions.

Every governed action (an ingest, a PII scan, masking applied by a build,
a grant, an erasure, a pipeline run, an alert) appends one record to a
hash-chained JSON-lines file (:mod:`.log`), mirrored into the warehouse
table ``governance.audit_log`` (:mod:`.store`) so that neither copy can be
rewritten without the other showing it.
"""

from governance.audit.log import (
    GENESIS_HASH,
    AuditLog,
    AuditRecord,
    Problem,
    VerifyResult,
    default_log,
    default_path,
    record,
    verify,
)
from governance.audit.store import (
    sync,
    sync_to_duckdb,
    sync_to_postgres,
    verify_against_table,
)

__all__ = [
    "GENESIS_HASH",
    "AuditLog",
    "AuditRecord",
    "Problem",
    "VerifyResult",
    "default_log",
    "default_path",
    "record",
    "sync",
    "sync_to_duckdb",
    "sync_to_postgres",
    "verify",
    "verify_against_table",
]
