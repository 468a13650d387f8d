"""Keep the generated synthetic tables between loads.

Generating fan accounts and medical stints takes longer than parsing and
loading the whole Lahman release, and the result depends only on the
generator version, the seed, the sizes and the roster (the release's
appearances file). A load with the same inputs therefore reads the tables
it generated before. Each table is an Arrow IPC file listed, with its
SHA-256, in a small JSON index written last: an entry that is incomplete,
or whose bytes no longer match, is ignored and the tables are generated
again. ``diamond ingest --revalidate`` skips the cache, as it does for
validation verdicts.

Entries hold the tables as generated, before erased subjects are taken
out, so ingest neither reads nor writes the cache while the erasure
register has entries, and empties it then (:func:`clear`): an erased fan's
invented details must not outlive the erasure in a cache file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import pyarrow as pa

log = logging.getLogger(__name__)


def cache_key(
    generator: str, roster_sha256: str, seed: int, fans: int, stints: int
) -> str:
    """Hash of everything the generated tables depend on."""
    text = json.dumps(
        {
            "generator": generator,
            "roster": roster_sha256,
            "seed": seed,
            "fans": fans,
            "medical_stints": stints,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _index(folder: Path, key: str) -> Path:
    return folder / f"{key}.json"


def lookup(folder: Path, key: str) -> dict[str, pa.Table] | None:
    """The tables stored under ``key``, or None when there is no sound
    entry."""
    index = _index(folder, key)
    if not index.is_file():
        return None
    try:
        digests = json.loads(index.read_text())
        tables = {}
        for name, digest in digests.items():
            data = (folder / f"{key}.{name}.arrow").read_bytes()
            if hashlib.sha256(data).hexdigest() != digest:
                log.warning("synthetic cache entry %s.%s is damaged", key, name)
                return None
            with pa.ipc.open_stream(data) as reader:
                tables[name] = reader.read_all()
    except (OSError, ValueError, AttributeError, pa.ArrowInvalid) as exc:
        log.warning("ignoring unreadable synthetic cache entry %s: %s", index, exc)
        return None
    return tables


def store(folder: Path, key: str, tables: dict[str, pa.Table]) -> None:
    """Keep ``tables`` for later loads with the same inputs.

    The index goes last and by rename, so a crash leaves either a whole
    entry or one that :func:`lookup` ignores; temporary names are unique,
    so two loads storing the same entry at once do not trip each other.
    The cache only saves time: a failure to write it is a warning.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        digests = {}
        for name, table in tables.items():
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            data = sink.getvalue().to_pybytes()
            _replace(folder / f"{key}.{name}.arrow", data)
            digests[name] = hashlib.sha256(data).hexdigest()
        _replace(_index(folder, key), json.dumps(digests, sort_keys=True).encode())
    except OSError as exc:
        log.warning("could not keep the synthetic tables in %s: %s", folder, exc)


def _replace(path: Path, data: bytes) -> None:
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def clear(folder: Path) -> int:
    """Delete every entry; returns how many files were removed."""
    removed = 0
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if path.suffix in (".json", ".arrow", ".part"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
