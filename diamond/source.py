"""Finding and opening a Lahman / baseballdatabank release.

A release can be the zip the ``lahman`` package ships (the default, works
offline), a local zip, a local folder of CSV files, or an https URL that is
downloaded once into a cache and verified by checksum on every later use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import re
import shutil
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diamond.errors import IngestError
from diamond.lahman import TABLES
from diamond.settings import cache_dir

log = logging.getLogger(__name__)

_VERSION_RE = re.compile(r"(baseballdatabank|lahman)[-_]?([0-9][0-9.\-_a-z]*)", re.I)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file at ``path``, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_release() -> Path:
    """Path of the release zip inside the installed ``lahman`` package.

    The package is located through its metadata, never imported: importing
    it unpacks every CSV into site-packages as a side effect.
    """
    try:
        dist = importlib.metadata.distribution("lahman")
    except importlib.metadata.PackageNotFoundError as exc:
        msg = "the lahman package is not installed: run `make install`"
        raise IngestError(msg) from exc
    path = Path(str(dist.locate_file("lahman/data/_source.zip")))
    if not path.is_file():
        msg = f"the lahman package has no release zip at {path}: reinstall it"
        raise IngestError(msg)
    return path


@dataclass
class Release:
    """The CSV files of one release, read into memory, with their checksums."""

    location: str
    version: str
    files: dict[str, bytes]
    archive_sha256: str | None = None
    checksums: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.checksums = {name: sha256_bytes(data) for name, data in self.files.items()}

    @property
    def fingerprint(self) -> str:
        """One hash over every file's checksum: equal input, equal fingerprint."""
        joined = json.dumps(sorted(self.checksums.items())).encode()
        return sha256_bytes(joined)


def _version_from(names: Iterator[str] | list[str], fallback: str) -> str:
    for name in names:
        match = _VERSION_RE.search(name)
        if match:
            return match.group(2).strip("-_.")
    return fallback


def _pick_files(candidates: dict[str, str], location: str) -> dict[str, str]:
    """Map each expected file name to the member or path that holds it.

    Files in a ``core/`` folder win over same-named files elsewhere (the
    release's ``upstream/`` folder holds an older Teams.csv).
    """
    chosen: dict[str, str] = {}
    for member in sorted(candidates, key=lambda m: ("/core/" not in f"/{m}", m)):
        base = candidates[member]
        if base not in chosen:
            chosen[base] = member
    missing = [t.file for t in TABLES if t.file not in chosen]
    if missing:
        msg = (
            f"{location}: the release lacks {', '.join(missing)}. "
            "Point --source at a complete Lahman/baseballdatabank release "
            "(a zip or a folder holding its core CSV files)."
        )
        raise IngestError(msg)
    return {t.file: chosen[t.file] for t in TABLES}


def _open_zip(path: Path, location: str) -> Release:
    expected = {t.file.lower(): t.file for t in TABLES}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {
                info.filename: expected[Path(info.filename).name.lower()]
                for info in archive.infolist()
                if not info.is_dir() and Path(info.filename).name.lower() in expected
            }
            picked = _pick_files(members, location)
            files = {}
            for name, member in picked.items():
                files[name] = archive.read(member)
            version = _version_from(archive.namelist(), fallback=path.stem)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        msg = (
            f"{location}: not a readable zip archive ({exc}). The file is "
            "probably truncated or corrupt: download it again."
        )
        raise IngestError(msg) from exc
    return Release(location, version, files, archive_sha256=sha256_file(path))


def _open_folder(path: Path) -> Release:
    expected = {t.file.lower(): t.file for t in TABLES}
    found = {
        str(p.relative_to(path)): expected[p.name.lower()]
        for p in path.rglob("*")
        if p.is_file() and p.name.lower() in expected
    }
    picked = _pick_files(found, str(path))
    files = {name: (path / rel).read_bytes() for name, rel in picked.items()}
    version = _version_from([path.name, *picked.values()], fallback=path.name)
    return Release(str(path), version, files)


def _download_folder(url: str) -> Path:
    """Cache folder of one URL: the archive and the ``sha256`` it had."""
    return cache_dir() / sha256_bytes(url.encode())[:16]


def recorded_download_sha256(url: str) -> str | None:
    """The sha256 recorded when ``url`` was downloaded, if it was."""
    checksum_file = _download_folder(url) / "sha256"
    return checksum_file.read_text().strip() if checksum_file.is_file() else None


def _download(url: str) -> Path:
    """Fetch ``url`` into the cache once; verify the cached copy every time."""
    folder = _download_folder(url)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(url.split("?")[0]).name or "release.zip")
    checksum_file = folder / "sha256"
    if target.is_file() and checksum_file.is_file():
        recorded = checksum_file.read_text().strip()
        actual = sha256_file(target)
        if actual != recorded:
            msg = (
                f"cached copy of {url} at {target} has sha256 {actual}, not the "
                f"{recorded} recorded when it was downloaded. Delete {folder} "
                "to download it again."
            )
            raise IngestError(msg)
        log.info("using cached %s (sha256 %s)", target, recorded)
        return target
    partial = target.with_suffix(target.suffix + ".part")
    log.info("downloading %s", url)
    try:
        with (
            urllib.request.urlopen(url, timeout=60) as response,
            partial.open("wb") as handle,
        ):
            shutil.copyfileobj(response, handle)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        msg = f"cannot download {url}: {exc}. Check the URL or use a local copy."
        raise IngestError(msg) from exc
    if not zipfile.is_zipfile(partial):
        size = partial.stat().st_size
        partial.unlink()
        msg = (
            f"{url} returned {size} bytes that are not a zip archive. Check "
            "that the URL points at the release zip itself, not a web page."
        )
        raise IngestError(msg)
    partial.replace(target)
    checksum_file.write_text(sha256_file(target) + "\n")
    return target


def open_release(source: str | None = None) -> Release:
    """Open the release named by ``source`` (default: the packaged zip)."""
    if source is None:
        path = packaged_release()
        return _open_zip(path, f"lahman package ({path.name})")
    if source.startswith("https://"):
        return _open_zip(_download(source), source)
    if "://" in source:
        msg = f"--source {source}: only https:// URLs and local paths are supported"
        raise IngestError(msg)
    path = Path(source).expanduser()
    if path.is_dir():
        return _open_folder(path)
    if path.is_file():
        return _open_zip(path, str(path))
    msg = f"--source {source}: no such file or folder"
    raise IngestError(msg)
