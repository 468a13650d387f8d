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
register has entries, and the cache is emptied (:func:`clear`) as soon as
a subject is registered and again by every ingest that finds the register
non-empty: an erased fan's invented details must not outlive the erasure
in a cache file. A load that began before the erasure asks again, under
the same lock :func:`clear` takes, before it stores anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

import pyarrow as pa

from diamond.locks import exclusive

log = logging.getLogger(__name__)

#: Held while storing and while clearing, so the two never interleave.
LOCK_FILE = ".lock"


def default_folder() -> Path:
    """``synthetic/`` under diamond's cache folder."""
    from diamond.settings import cache_dir

    return cache_dir() / "synthetic"


def cache_key(
    generator: str,
    roster_sha256: str,
    seed: int,
    fans: int,
    stints: int,
    layout: object = None,
) -> str:
    """Hash of everything the generated tables depend on.

    ``layout`` is the tables' names and columns: a table or column added
    without a new generator version then misses the cache instead of
    loading what an older generator made.
    """
    text = json.dumps(
        {
            "generator": generator,
            "roster": roster_sha256,
            "seed": seed,
            "fans": fans,
            "medical_stints": stints,
            "layout": layout,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _index(folder: Path, key: str) -> Path:
    return folder / f"{key}.json"


def lookup(
    folder: Path, key: str, names: Collection[str]
) -> dict[str, pa.Table] | None:
    """The tables ``names`` stored under ``key``, or None when there is no
    sound entry holding exactly those tables."""
    index = _index(folder, key)
    if not index.is_file():
        return None
    try:
        digests = json.loads(index.read_text())
        if not isinstance(digests, dict) or set(digests) != set(names):
            log.warning("synthetic cache entry %s holds other tables", key)
            return None
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


def store(
    folder: Path,
    key: str,
    tables: dict[str, pa.Table],
    allowed: Callable[[], bool] = lambda: True,
) -> bool:
    """Keep ``tables`` for later loads with the same inputs, unless
    ``allowed()``, asked under the lock :func:`clear` takes, says no.

    The index goes last and by rename, so a crash leaves either a whole
    entry or one that :func:`lookup` ignores; temporary names are unique,
    so two loads storing the same entry at once do not trip each other.
    The cache only saves time: a failure to write it is a warning. Returns
    whether the entry was stored.
    """
    try:
        with exclusive(folder / LOCK_FILE):
            if not allowed():
                return False
            digests = {}
            for name, table in tables.items():
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)
                data = sink.getvalue().to_pybytes()
                _replace(folder / f"{key}.{name}.arrow", data)
                digests[name] = hashlib.sha256(data).hexdigest()
            index = json.dumps(digests, sort_keys=True).encode()
            _replace(_index(folder, key), index)
    except OSError as exc:
        log.warning("could not keep the synthetic tables in %s: %s", folder, exc)
        return False
    return True


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
    with exclusive(folder / LOCK_FILE):
        for path in folder.iterdir():
            if path.suffix in (".json", ".arrow", ".part"):
                path.unlink(missing_ok=True)
                removed += 1
    return removed
