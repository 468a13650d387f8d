"""The secret key behind the keyed-hash masking policy.

Pseudonyms are SHA-256 of this key and the value, so whoever knows the key
can test a guess ("is fan_key the hash of FAN0001234?"); without it the
pseudonyms reveal nothing. The key therefore never appears in SQL, logs or
lineage: ingest loads it into the restricted raw schema as the one-row table
``masking_key``, and the masking macro reads it at query time.

``DIAMOND_MASKING_KEY`` sets it (what a server or CI secret store should
do). Otherwise a random key is created once, next to the DuckDB warehouse
file, readable by its owner only, and reused, so pseudonyms stay stable
from one build to the next. Changing the key changes every pseudonym.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import pyarrow as pa

from diamond.contracts import ValidatedTable
from diamond.errors import ConfigError
from diamond.lahman import Column, TableSpec
from diamond.settings import duckdb_path

ENV_VAR = "DIAMOND_MASKING_KEY"
MIN_LENGTH = 16

MASKING_KEY_TABLE = TableSpec(
    "masking_key",
    "generated/masking_key",
    (Column("masking_key", "VARCHAR"), Column("key_digest", "VARCHAR")),
    ("key_digest",),
)


def key_file() -> Path:
    return duckdb_path().parent / "masking.key"


def masking_key() -> str:
    """The key from the environment, else the local key file (created once)."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        if len(value) < MIN_LENGTH:
            msg = (
                f"{ENV_VAR} is {len(value)} characters long: use at least "
                f"{MIN_LENGTH} random characters (for example the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
            raise ConfigError(msg)
        return value
    path = key_file()
    if path.is_file():
        stored = path.read_text().strip()
        if len(stored) < MIN_LENGTH:
            msg = (
                f"{path} holds a masking key shorter than {MIN_LENGTH} "
                f"characters: delete the file to have a new key made, or set "
                f"{ENV_VAR}."
            )
            raise ConfigError(msg)
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_hex(32)
    # Created with owner-only permissions from the start, never widened.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(fresh + "\n")
    return fresh


def digest(key: str) -> str:
    """A fingerprint of the key that can be logged without revealing it."""
    return hashlib.sha256(b"diamond masking key\0" + key.encode()).hexdigest()


def key_table(key: str) -> ValidatedTable:
    """The one-row raw table the masking macro reads."""
    data = pa.table(
        {"masking_key": [key], "key_digest": [digest(key)]},
        schema=pa.schema([("masking_key", pa.string()), ("key_digest", pa.string())]),
    )
    return ValidatedTable(MASKING_KEY_TABLE, data, digest(key))
