"""Opening a release from each kind of source, and refusing bad ones.

The https tests use a real TLS server on 127.0.0.1 (see ``https_server`` in
conftest.py) with a self-signed certificate made by the ``cryptography``
package. That keeps diamond's download code unchanged, certificate check
included, where patching ``urllib`` would have skipped exactly the parts
that fail in practice: the TLS handshake, HTTP errors and partial bodies.
No warehouse is needed here: ``open_release`` is what ingest calls first.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from diamond.errors import IngestError
from diamond.lahman import TABLES
from diamond.source import open_release

if TYPE_CHECKING:
    from conftest import HttpsServer, PackagedRelease


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty download cache for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DIAMOND_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def packaged_fingerprint() -> str:
    return open_release().fingerprint


def _serve(server: HttpsServer, packaged: PackagedRelease, name: str) -> str:
    shutil.copyfile(packaged.path, server.folder / name)
    return server.url(name)


def _cached_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def test_https_release_is_downloaded_once_then_read_from_the_cache(
    trust_https: HttpsServer, packaged, cache: Path, packaged_fingerprint: str
) -> None:
    url = _serve(trust_https, packaged, "baseballdatabank-2021.2.zip")

    first = open_release(url)
    second = open_release(url)

    assert trust_https.requests.count("/baseballdatabank-2021.2.zip") == 1
    assert first.location == url
    assert first.version == "2021.2"
    assert first.fingerprint == second.fingerprint == packaged_fingerprint
    archive, checksum = _cached_files(cache)
    assert archive.name == "baseballdatabank-2021.2.zip"
    assert checksum.name == "sha256"
    expected = hashlib.sha256(packaged.path.read_bytes()).hexdigest()
    assert checksum.read_text().strip() == expected
    assert first.archive_sha256 == expected


def test_tampered_cached_copy_is_refused(
    trust_https: HttpsServer, packaged, cache: Path
) -> None:
    url = _serve(trust_https, packaged, "tampered.zip")
    open_release(url)
    archive = next(p for p in _cached_files(cache) if p.suffix == ".zip")
    with archive.open("ab") as handle:
        handle.write(b"tampered")

    with pytest.raises(IngestError) as raised:
        open_release(url)

    message = str(raised.value)
    assert f"cached copy of {url} at {archive}" in message
    assert "not the" in message and "recorded when it was downloaded" in message
    assert f"Delete {archive.parent} to download it again" in message
    assert trust_https.requests.count("/tampered.zip") == 1

    # Doing what the message says fetches a fresh copy.
    shutil.rmtree(archive.parent)
    assert open_release(url).version == "2021.2"
    assert trust_https.requests.count("/tampered.zip") == 2


def test_untrusted_certificate_is_refused(
    https_server: HttpsServer,
    packaged,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without trusting the test certificate, the download must fail: the
    check is real, and nothing half-downloaded stays in the cache."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    url = _serve(https_server, packaged, "untrusted.zip")
    with pytest.raises(IngestError, match=r"cannot download .*CERTIFICATE_VERIFY"):
        open_release(url)
    assert _cached_files(cache) == []


def test_missing_url_is_refused(trust_https: HttpsServer, cache: Path) -> None:
    url = trust_https.url("no-such-release.zip")
    with pytest.raises(IngestError) as raised:
        open_release(url)
    message = str(raised.value)
    assert f"cannot download {url}" in message
    assert "404" in message
    assert "Check the URL or use a local copy" in message
    assert _cached_files(cache) == []


def test_download_that_is_not_a_zip_is_refused_and_not_cached(
    trust_https: HttpsServer, cache: Path
) -> None:
    (trust_https.folder / "page.zip").write_text("<html>moved</html>")
    url = trust_https.url("page.zip")
    for attempt in (1, 2):
        with pytest.raises(IngestError, match=r"page\.zip returned 18 bytes that"):
            open_release(url)
        assert trust_https.requests.count("/page.zip") == attempt
    assert _cached_files(cache) == []


def test_plain_http_is_refused() -> None:
    with pytest.raises(IngestError, match=r"only https:// URLs and local paths"):
        open_release("http://127.0.0.1/release.zip")


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"no such file or folder"):
        open_release(str(tmp_path / "nowhere"))


def test_folder_release_matches_the_zip(
    packaged, tmp_path: Path, packaged_fingerprint: str
) -> None:
    """An unpacked release, upstream/ folder included, reads as the zip."""
    folder = packaged.write_folder(tmp_path, {})
    release = open_release(str(folder))
    assert release.location == str(folder)
    assert release.version == "2021.2"
    assert release.fingerprint == packaged_fingerprint


def test_flat_folder_of_csv_files_works(
    packaged, tmp_path: Path, packaged_fingerprint: str
) -> None:
    flat = tmp_path / "lahman-csv"
    flat.mkdir()
    for spec in TABLES:
        (flat / spec.file).write_bytes(packaged.csv(spec.file))
    assert open_release(str(flat)).fingerprint == packaged_fingerprint


def test_core_files_win_over_upstream_copies(packaged, tmp_path: Path) -> None:
    """The release ships an older Teams.csv under upstream/; core/ is used."""
    release = open_release(str(packaged.write_folder(tmp_path, {})))
    assert release.files["Teams.csv"] == packaged.csv("Teams.csv")


@pytest.mark.parametrize(
    "fill",
    [b"\x00", b"\xff"],
    ids=["checksum_mismatch", "undecompressable"],
)
def test_corrupt_member_is_refused(packaged, tmp_path: Path, fill: bytes) -> None:
    """A zip whose directory is intact but whose data are damaged: zeros
    still inflate (and fail the CRC), 0xff bytes break the deflate stream."""
    path = tmp_path / "damaged.zip"
    damaged = packaged.member("People.csv")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in packaged.members.items():
            method = zipfile.ZIP_DEFLATED if name == damaged else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=method)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(damaged)
    raw = bytearray(path.read_bytes())
    middle = info.header_offset + 100 + info.compress_size // 2
    raw[middle : middle + 64] = fill * 64
    path.write_bytes(bytes(raw))

    with pytest.raises(IngestError) as raised:
        open_release(str(path))
    message = str(raised.value)
    assert f"{path}: not a readable zip archive" in message
    assert "download it again" in message
