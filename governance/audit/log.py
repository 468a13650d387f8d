"""The audit log file: a hash chain of governed actions, one JSON line each.

Every record carries the sha256 of the record before it (``prev_hash``) and
its own ``hash``, computed over the canonical JSON of every other field
(sorted keys, no spaces, UTF-8). Changing any byte of a record therefore
breaks either its own hash or the link from the record after it, and
:func:`verify` says which record was edited, deleted, inserted or moved.

A chain alone cannot notice a file that was rewritten from scratch with
every hash recomputed, nor records cut from its end. Two anchors close
that gap: the warehouse mirror ``governance.audit_log`` (see
:mod:`governance.audit.store`) and :meth:`AuditLog.head`, a ``(seq, hash)``
pair to print or record elsewhere and hand back to ``verify(anchor=...)``.

Appends take an exclusive ``flock`` on the file, read only its last line
to learn the next ``seq`` and ``prev_hash``, write the new line with one
``O_APPEND`` write and ``fsync`` before releasing the lock, so processes
appending at once still build one contiguous chain. A last line that is
not a complete, self-consistent record (a crash mid-write, an edit) makes
append refuse instead of chaining onto something unverified; readers take
a shared lock so they never see a line half written.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import getpass
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diamond.errors import ConfigError, DiamondError
from diamond.settings import TARGETS, duckdb_path, project_dir

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
FIELDS = (
    "seq",
    "recorded_at",
    "action",
    "actor",
    "target",
    "run_id",
    "subject",
    "details",
    "prev_hash",
    "hash",
)
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Finds the seq of a line too damaged to parse, so that a garbled record
# is not also reported as a deleted one.
_RAW_SEQ = re.compile(rb'"seq":\s*(\d+)')
_TAIL_CHUNK = 65536
_VERIFY_HINT = "run `diamond audit verify` to see what is wrong"


def canonical_json(value: Any) -> str:
    """The one JSON text hashes are computed over."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def _short(digest: str) -> str:
    return f"{digest[:12]}.."


@dataclass(frozen=True)
class AuditRecord:
    """One governed action, as stored on one line of the log."""

    seq: int
    recorded_at: str
    action: str
    actor: str
    target: str | None
    run_id: str | None
    subject: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """Every field except ``hash``: what the hash covers."""
        return {name: getattr(self, name) for name in FIELDS if name != "hash"}

    def computed_hash(self) -> str:
        """The sha256 the content hashes to, whatever ``hash`` says."""
        text = canonical_json(self.content())
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def hash_ok(self) -> bool:
        return self.computed_hash() == self.hash

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def to_line(self) -> bytes:
        """The record as one JSON line, newline included."""
        return (canonical_json(self.to_dict()) + "\n").encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any) -> AuditRecord:
        """A record from parsed JSON; ``ValueError`` says which field is bad."""
        if not isinstance(data, dict):
            msg = "is not a JSON object"
            raise ValueError(msg)
        missing = [name for name in FIELDS if name not in data]
        if missing:
            msg = f"lacks field(s) {', '.join(missing)}"
            raise ValueError(msg)
        extra = sorted(set(data) - set(FIELDS))
        if extra:
            msg = f"has unknown field(s) {', '.join(extra)}"
            raise ValueError(msg)
        seq = data["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            msg = f"field seq is {seq!r}, not a positive integer"
            raise ValueError(msg)
        for name in ("recorded_at", "action", "actor"):
            if not isinstance(data[name], str):
                msg = f"field {name} is {data[name]!r}, not a string"
                raise ValueError(msg)
        for name in ("target", "run_id", "subject"):
            if data[name] is not None and not isinstance(data[name], str):
                msg = f"field {name} is {data[name]!r}, not a string or null"
                raise ValueError(msg)
        if not isinstance(data["details"], dict):
            msg = "field details is not a JSON object"
            raise ValueError(msg)
        for name in ("prev_hash", "hash"):
            if not isinstance(data[name], str) or not _HEX64.fullmatch(data[name]):
                msg = f"field {name} is {data[name]!r}, not a hex sha256"
                raise ValueError(msg)
        return cls(**{name: data[name] for name in FIELDS})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a log: where (line and/or seq), what, and why."""

    line: int | None
    seq: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        if self.line is not None and self.seq is not None:
            where = f"line {self.line} (seq {self.seq})"
        elif self.line is not None:
            where = f"line {self.line}"
        elif self.seq is not None:
            where = f"seq {self.seq}"
        else:
            where = "log"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class VerifyResult:
    """What :func:`verify` found; ``ok`` only when ``problems`` is empty."""

    ok: bool
    records: int
    head_hash: str
    problems: list[Problem] = field(default_factory=list)
    head_seq: int = 0
    source: str = ""

    def report(self) -> str:
        """Human-readable text: a summary line, then one line per problem."""
        name = self.source or "audit log"
        if self.ok:
            return (
                f"{name}: OK, {self.records} record(s), chain intact; head is "
                f"seq {self.head_seq} hash {self.head_hash}"
            )
        lines = [
            f"{name}: FAILED, {len(self.problems)} problem(s) in "
            f"{self.records} record(s)"
        ]
        lines.extend(str(problem) for problem in self.problems)
        lines.append(
            "Restore the named records from a backup or the warehouse mirror; "
            "do not append until verify passes."
        )
        return "\n".join(lines)


def default_path() -> Path:
    """``DIAMOND_AUDIT_LOG`` (relative to the project), else ``audit/audit.jsonl``
    beside the DuckDB warehouse file (``warehouse/`` by default), so a scratch
    warehouse keeps a log of its own."""
    raw = os.environ.get("DIAMOND_AUDIT_LOG")
    if raw:
        path = Path(raw).expanduser()
        return path if path.is_absolute() else project_dir() / path
    return duckdb_path().parent / "audit" / "audit.jsonl"


def _default_actor() -> str:
    explicit = os.environ.get("DIAMOND_ACTOR")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except OSError:
        # No login name (a container without a passwd entry): the uid still
        # tells operators which account acted.
        return f"uid:{os.getuid()}"


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@contextlib.contextmanager
def _locked(path: Path, flags: int, lock: int) -> Iterator[int]:
    fd = os.open(path, flags | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, lock)
        yield fd
    finally:
        # Closing the descriptor releases the flock.
        os.close(fd)


def _last_line(fd: int) -> bytes | None:
    """The bytes of the last line (newline included) or ``None`` when empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    end = size
    tail = b""
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        tail = os.pread(fd, end - start, start) + tail
        end = start
        # The newline ending the last line does not count as its start.
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            return tail[cut + 1 :]
    return tail


def _parse_line(raw: bytes) -> AuditRecord:
    """A record from one line without its newline; ``ValueError`` if bad."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"is not valid JSON ({exc})"
        raise ValueError(msg) from exc
    return AuditRecord.from_dict(data)


class AuditLog:
    """One append-only audit log file (:func:`default_path` by default)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def _tail(self, fd: int) -> AuditRecord | None:
        raw = _last_line(fd)
        if raw is None:
            return None
        if not raw.endswith(b"\n"):
            reason = "incomplete (no line end: an earlier append was interrupted)"
        else:
            try:
                record = _parse_line(raw[:-1])
            except ValueError as exc:
                reason = f"not a valid record: it {exc}"
            else:
                if record.hash_ok():
                    return record
                reason = (
                    f"seq {record.seq}, whose stored hash {_short(record.hash)} "
                    "does not match its content"
                )
        msg = (
            f"cannot append to the audit log {self.path}: its last line is "
            f"{reason}. Nothing was written; {_VERIFY_HINT}, and repair the "
            "file before appending again."
        )
        raise DiamondError(msg)

    def append(
        self,
        action: str,
        *,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
        target: str | None = None,
        run_id: str | None = None,
        actor: str | None = None,
    ) -> AuditRecord:
        """Record one governed action at the end of the chain and return it."""
        details = _checked_details(action, details)
        _check_fields(action, subject=subject, target=target, run_id=run_id)
        actor = actor or _default_actor()
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(
                self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, fcntl.LOCK_EX
            ) as fd:
                last = self._tail(fd)
                content = {
                    "seq": last.seq + 1 if last else 1,
                    "recorded_at": _utc_now(),
                    "action": action,
                    "actor": actor,
                    "target": target,
                    "run_id": run_id,
                    "subject": subject,
                    "details": details,
                    "prev_hash": last.hash if last else GENESIS_HASH,
                    "hash": "",
                }
                draft = AuditRecord(**content)
                record = AuditRecord(**{**content, "hash": draft.computed_hash()})
                data = memoryview(record.to_line())
                while data:
                    written = os.write(fd, data)
                    data = data[written:]
                os.fsync(fd)
        except OSError as exc:
            msg = (
                f"cannot append to the audit log {self.path}: {exc.strerror or exc}. "
                "Check the folder exists and is writable, or point "
                "DIAMOND_AUDIT_LOG elsewhere."
            )
            raise DiamondError(msg) from exc
        if created:
            # A new file's directory entry must reach the disk too, or a crash
            # could lose the whole log rather than one line.
            with contextlib.suppress(OSError):
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        return record

    def _read(self) -> list[bytes]:
        """Every line, newlines kept, read under a shared lock."""
        try:
            with (
                _locked(self.path, os.O_RDONLY, fcntl.LOCK_SH) as fd,
                os.fdopen(os.dup(fd), "rb") as handle,
            ):
                return handle.read().splitlines(keepends=True)
        except FileNotFoundError:
            return []
        except OSError as exc:
            msg = f"cannot read the audit log {self.path}: {exc.strerror or exc}"
            raise DiamondError(msg) from exc

    def records(self, *, skip_damaged: bool = False) -> Iterator[AuditRecord]:
        """Every record in file order; a damaged line raises, naming it.

        With ``skip_damaged`` a damaged line is logged and passed over
        instead, for readers that follow up on what the log says (open
        incidents) and must not lose every record after one bad line;
        ``verify`` is what reports the damage itself.
        """
        for number, raw in enumerate(self._read(), start=1):
            try:
                yield _parse_line(raw.rstrip(b"\n"))
            except ValueError as exc:
                msg = (
                    f"audit log {self.path}, line {number}: the record {exc}; "
                    f"{_VERIFY_HINT}"
                )
                if not skip_damaged:
                    raise DiamondError(msg) from exc
                log.warning("%s; skipped", msg)

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last record, ``(0, 64 zeros)`` when empty.

        Print or store it somewhere the log's writers cannot change, and pass
        it to ``verify(anchor=...)`` later: a log rewritten or cut short since
        then no longer holds that record.
        """
        try:
            with _locked(self.path, os.O_RDONLY, fcntl.LOCK_SH) as fd:
                last = self._tail(fd)
        except FileNotFoundError:
            return 0, GENESIS_HASH
        return (last.seq, last.hash) if last else (0, GENESIS_HASH)

    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyResult:
        return verify(self.path, anchor=anchor)


def _checked_details(action: str, details: dict[str, Any] | None) -> dict[str, Any]:
    if details is None:
        return {}
    if not isinstance(details, dict):
        msg = (
            f"audit record {action!r}: details must be a dict (a JSON object), "
            f"not {type(details).__name__}"
        )
        raise DiamondError(msg)
    try:
        text = canonical_json(details)
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        msg = (
            f"audit record {action!r}: details cannot be stored as JSON ({exc}); "
            "pass only strings, numbers, booleans, None, lists and dicts with "
            "string keys"
        )
        raise DiamondError(msg) from exc
    # Tuples become lists and keys become strings on the way through JSON;
    # the stored form is what must hash, so take it from the round trip.
    return json.loads(text)


def _check_fields(
    action: str, *, subject: str | None, target: str | None, run_id: str | None
) -> None:
    if not isinstance(action, str) or not _ACTION.fullmatch(action):
        msg = (
            f"audit action {action!r} is not a lower-case dotted name such as "
            "'ingest', 'pii.scan' or 'privacy.erase'"
        )
        raise DiamondError(msg)
    if target is not None and target not in TARGETS:
        msg = (
            f"audit record {action!r}: unknown target {target!r}; use one of "
            f"{', '.join(TARGETS)} or None"
        )
        raise ConfigError(msg)
    for name, value in (("subject", subject), ("run_id", run_id)):
        if value is not None and not isinstance(value, str):
            msg = (
                f"audit record {action!r}: {name} must be a string or None, not "
                f"{type(value).__name__}"
            )
            raise DiamondError(msg)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


@dataclass
class _Entry:
    line: int
    record: AuditRecord


@dataclass
class ChainScan:
    """The parsed file: its problems and the records that make up the chain.

    ``chain`` maps each seq to the entry judged genuine for it (a forged
    duplicate is left out), which is what the warehouse mirror is compared
    against.
    """

    problems: list[Problem]
    chain: dict[int, _Entry]
    lines: int


def _choose_genuine(
    copies: list[_Entry], by_seq: dict[int, list[_Entry]]
) -> tuple[_Entry | None, list[_Entry]]:
    """Of several records claiming one seq, the one the chain runs through.

    A genuine record links to its predecessor and is linked to by its
    successor; a forged copy slipped in beside it rarely manages both.
    """
    seq = copies[0].record.seq
    before = {e.record.hash for e in by_seq.get(seq - 1, [])}
    if seq == 1:
        before = {GENESIS_HASH}
    after = {e.record.prev_hash for e in by_seq.get(seq + 1, [])}

    def score(entry: _Entry) -> int:
        return (
            (entry.record.prev_hash in before)
            + (entry.record.hash in after)
            + entry.record.hash_ok()
        )

    ranked = sorted(copies, key=score, reverse=True)
    if score(ranked[0]) > score(ranked[1]):
        return ranked[0], ranked[1:]
    return None, copies


def _in_order(entries: list[_Entry]) -> set[int]:
    """Lines of the longest run of entries already in rising seq order."""
    tails: list[int] = []
    tail_index: list[int] = []
    parent: list[int] = []
    for i, entry in enumerate(entries):
        pos = bisect.bisect_left(tails, entry.record.seq)
        if pos == len(tails):
            tails.append(entry.record.seq)
            tail_index.append(i)
        else:
            tails[pos] = entry.record.seq
            tail_index[pos] = i
        parent.append(tail_index[pos - 1] if pos else -1)
    kept: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        kept.add(entries[i].line)
        i = parent[i]
    return kept


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if spans and spans[-1][1] == n - 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return spans


def scan(path: Path) -> ChainScan:
    """Parse and check a log file; see :func:`verify` for the checks."""
    raw_lines = AuditLog(path)._read()
    problems: list[Problem] = []
    entries: list[_Entry] = []
    damaged_seqs: set[int] = set()
    for number, raw in enumerate(raw_lines, start=1):
        last = number == len(raw_lines)
        if last and not raw.endswith(b"\n"):
            found = _RAW_SEQ.search(raw)
            seq = int(found.group(1)) if found else None
            if seq is not None:
                damaged_seqs.add(seq)
            problems.append(
                Problem(
                    number,
                    seq,
                    "truncated",
                    "the last line has no line end, so an append was cut short "
                    "(a crash or a full disk); move the partial line aside "
                    "once you have checked what it held",
                )
            )
            continue
        try:
            record = _parse_line(raw.rstrip(b"\n"))
        except ValueError as exc:
            found = _RAW_SEQ.search(raw)
            seq = int(found.group(1)) if found else None
            if seq is not None:
                damaged_seqs.add(seq)
            problems.append(
                Problem(number, seq, "garbled", f"the line {exc}; restore it")
            )
            continue
        entries.append(_Entry(number, record))
        if not record.hash_ok():
            problems.append(
                Problem(
                    number,
                    record.seq,
                    "edited",
                    f"stored hash {_short(record.hash)} does not match its "
                    f"content (which hashes to {_short(record.computed_hash())})",
                )
            )

    by_seq: dict[int, list[_Entry]] = {}
    for entry in entries:
        by_seq.setdefault(entry.record.seq, []).append(entry)
    genuine: list[_Entry] = []
    for seq in sorted(by_seq):
        copies = by_seq[seq]
        if len(copies) == 1:
            genuine.append(copies[0])
            continue
        chosen, others = _choose_genuine(copies, by_seq)
        if chosen is None:
            lines = ", ".join(str(e.line) for e in copies)
            problems.append(
                Problem(
                    None,
                    seq,
                    "inserted",
                    f"lines {lines} all claim seq {seq} and none fits the chain "
                    "better than the others; at most one of them is genuine",
                )
            )
            continue
        genuine.append(chosen)
        for entry in others:
            problems.append(
                Problem(
                    entry.line,
                    seq,
                    "inserted",
                    f"a second record claiming seq {seq}; the chain runs "
                    f"through line {chosen.line}, so this one was added later",
                )
            )

    in_file_order = sorted(genuine, key=lambda e: e.line)
    kept = _in_order(in_file_order)
    for entry in in_file_order:
        if entry.line in kept:
            continue
        seq = entry.record.seq
        earlier = [e for e in in_file_order if e.record.seq < seq]
        if earlier:
            neighbour = max(earlier, key=lambda e: e.record.seq)
            place = f"after seq {neighbour.record.seq} (line {neighbour.line})"
        else:
            place = "at the start of the file"
        problems.append(
            Problem(
                entry.line,
                seq,
                "reordered",
                f"records are out of seq order; seq {seq} belongs {place}",
            )
        )

    chain = {e.record.seq: e for e in genuine}
    top = max([*chain, *damaged_seqs], default=0)
    missing = [s for s in range(1, top + 1) if s not in chain and s not in damaged_seqs]
    for first, last_seq in _ranges(missing):
        before = chain.get(first - 1)
        after = chain.get(last_seq + 1)
        where = []
        if before:
            where.append(f"after seq {first - 1} (line {before.line})")
        if after:
            where.append(f"before seq {last_seq + 1} (line {after.line})")
        if first == last_seq:
            span = f"seq {first} is missing; the record belonged"
        else:
            span = f"seqs {first}-{last_seq} are missing; the records belonged"
        problems.append(
            Problem(
                None,
                first,
                "deleted",
                f"{span} {' and '.join(where) or 'next to a damaged line'}",
            )
        )

    for seq, entry in sorted(chain.items()):
        record = entry.record
        if seq == 1 and record.prev_hash != GENESIS_HASH:
            problems.append(
                Problem(
                    entry.line,
                    seq,
                    "chain",
                    f"the first record's prev_hash is {_short(record.prev_hash)}, "
                    "not 64 zeros: records before it were removed or the file "
                    "was spliced from another log",
                )
            )
        previous = chain.get(seq - 1)
        if previous is None or record.prev_hash == previous.record.hash:
            continue
        if not record.hash_ok():
            # Its own "edited" problem already covers a changed prev_hash.
            continue
        problems.append(
            Problem(
                previous.line,
                seq - 1,
                "edited",
                f"the record was rewritten and its hash recomputed: seq {seq} "
                f"(line {entry.line}) chains to {_short(record.prev_hash)}, "
                f"but seq {seq - 1} now hashes to {_short(previous.record.hash)}",
            )
        )

    return ChainScan(problems=problems, chain=chain, lines=len(raw_lines))


def _problem_order(problem: Problem) -> tuple[int, int]:
    return (problem.seq or 0, problem.line or 0)


def verify(
    path: Path | None = None, *, anchor: tuple[int, str] | None = None
) -> VerifyResult:
    """Check a log file and name every record that is not as appended.

    Finds edited records (hash does not match the content, or the next
    record no longer chains to it), deleted ones (a gap in seq), inserted
    ones (two records claiming one seq), reordered ones (seq out of file
    order) and a truncated or garbled line. With ``anchor`` (a ``(seq,
    hash)`` from :meth:`AuditLog.head`), also checks that record is still
    there unchanged, which catches a rewrite or cut tail the chain cannot.
    """
    path = Path(path) if path is not None else default_path()
    found = scan(path)
    problems = sorted(found.problems, key=_problem_order)
    if anchor is not None:
        seq, digest = anchor
        entry = found.chain.get(seq)
        if seq > 0 and entry is None:
            problems.append(
                Problem(
                    None,
                    seq,
                    "anchor",
                    f"the anchored record seq {seq} ({_short(digest)}) is no "
                    "longer in the log: the log was cut short or rewritten",
                )
            )
        elif entry is not None and entry.record.hash != digest:
            problems.append(
                Problem(
                    entry.line,
                    seq,
                    "anchor",
                    f"hash is {_short(entry.record.hash)} but was anchored as "
                    f"{_short(digest)}: the log was rewritten since",
                )
            )
    return result_from(path, found, problems)


def result_from(path: Path, found: ChainScan, problems: list[Problem]) -> VerifyResult:
    """A :class:`VerifyResult` for a scanned file and the problems found."""
    head_seq = max(found.chain, default=0)
    head_hash = found.chain[head_seq].record.hash if head_seq else GENESIS_HASH
    return VerifyResult(
        ok=not problems,
        records=found.lines,
        head_hash=head_hash,
        problems=problems,
        head_seq=head_seq,
        source=f"audit log {path}",
    )


def default_log() -> AuditLog:
    """The log at :func:`default_path`, read from the environment now."""
    return AuditLog(default_path())


def record(
    action: str,
    *,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
    target: str | None = None,
    run_id: str | None = None,
    actor: str | None = None,
) -> AuditRecord:
    """Append one record to the default log."""
    return default_log().append(
        action,
        subject=subject,
        details=details,
        target=target,
        run_id=run_id,
        actor=actor,
    )
