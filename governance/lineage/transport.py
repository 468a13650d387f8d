"""Where diamond's OpenLineage events go, and how none of them get lost.

:func:`make_client` builds an :class:`OpenLineageClient` the standard way:
an ``openlineage.yml`` (named by ``OPENLINEAGE_CONFIG``, else in the working
directory, else in ``~/.openlineage``), ``OPENLINEAGE__TRANSPORT__...``
variables or ``OPENLINEAGE_URL`` choose the transport, exactly as the
openlineage-python client reads them. When none is set, events are appended
as JSON lines to ``<target>/lineage/events.jsonl``.

Whatever the transport, it is wrapped in a :class:`SpoolingTransport`. An
event the transport cannot deliver (the HTTP transport has already retried
it with the client's ``retry`` settings) is appended to
``<target>/lineage/spool.jsonl`` and a warning names the destination and how
many events are waiting; :func:`replay_spool` sends them again later.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport, get_default_factory
from openlineage.client.transport.composite import CompositeTransport
from openlineage.client.transport.file import FileTransport
from openlineage.client.transport.http import HttpTransport
from openlineage.client.transport.noop import NoopConfig, NoopTransport

from diamond.errors import DiamondError

log = logging.getLogger(__name__)

#: Folder under the dbt target folder that holds lineage files.
LINEAGE_DIR = "lineage"
#: Default event log: JSON lines, one event a line, appended.
EVENTS_FILE = "events.jsonl"
#: Events a transport could not deliver, waiting for :func:`replay_spool`.
SPOOL_FILE = "spool.jsonl"
#: After this many events fail in a row (each after its retries), a client
#: stops trying and spools the rest at once, so a dead endpoint costs one
#: round of retries per run rather than one per event.
GIVE_UP_AFTER = 3


class LineageTransportError(DiamondError):
    """Lineage events cannot be sent or replayed; the message says why."""


class LineageDeliveryWarning(UserWarning):
    """Some lineage events were not delivered and wait in the spool file."""


def default_target_dir() -> Path:
    """The dbt target folder: ``$DBT_TARGET_PATH`` or ``/work/main/target``."""
    configured = os.environ.get("DBT_TARGET_PATH")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "target"


def events_path(target_dir: Path) -> Path:
    """Path of the default JSON lines event log under ``target_dir``."""
    return Path(target_dir) / LINEAGE_DIR / EVENTS_FILE


def spool_path(target_dir: Path) -> Path:
    """Path of the spool of undelivered events under ``target_dir``."""
    return Path(target_dir) / LINEAGE_DIR / SPOOL_FILE


def describe_transport(transport: Transport) -> str:
    """A short human description of where ``transport`` sends events.

    HTTP transports are named by the full URL they post to, file transports
    by their file, composite transports by their members.
    """
    if isinstance(transport, HttpTransport):
        return urljoin(transport.url, transport.endpoint)
    if isinstance(transport, FileTransport):
        return f"file {transport.config.log_file_path}"
    if isinstance(transport, CompositeTransport):
        inner = ", ".join(describe_transport(t) for t in transport.transports)
        return f"composite [{inner}]"
    if isinstance(transport, SpoolingTransport):
        return describe_transport(transport.inner)
    return f"{transport.kind or type(transport).__name__} transport"


class SpoolingTransport(Transport):
    """Wraps another transport and keeps every event it fails to deliver.

    The wrapped transport does its own retrying (the HTTP transport mounts a
    ``urllib3`` retry built from its ``retry`` settings). When it still
    raises, the event is appended to the spool file and a warning names the
    destination and the number of events spooled by this transport so far.
    After ``give_up_after`` failures in a row (0: never) the remaining events
    are spooled without trying.
    """

    kind = "diamond_spooling"

    def __init__(
        self, inner: Transport, spool: Path, give_up_after: int = GIVE_UP_AFTER
    ) -> None:
        self.inner = inner
        self.spool = Path(spool)
        self.name = inner.name
        self.priority = inner.priority
        self.give_up_after = give_up_after
        self.delivered = 0
        self.undelivered = 0
        self.consecutive_failures = 0
        self._lock = threading.Lock()

    @property
    def destination(self) -> str:
        """Where the wrapped transport sends events, for messages."""
        return describe_transport(self.inner)

    def emit(self, event: Any) -> Any:
        """Send ``event``; spool it (and warn) when the transport fails."""
        self.deliver(event)

    def deliver(self, event: Any) -> bool:
        """Send one event (an event object or its JSON dict).

        Returns True when the wrapped transport accepted it, False when it
        was appended to the spool instead.
        """
        if self.gave_up:
            self._spool(event, None)
            return False
        try:
            self.inner.emit(event)
        except Exception as error:  # any failure at all must spool the event
            with self._lock:
                self.consecutive_failures += 1
            self._spool(event, error)
            return False
        with self._lock:
            self.delivered += 1
            self.consecutive_failures = 0
        return True

    @property
    def gave_up(self) -> bool:
        """Whether enough events failed in a row to stop trying for now."""
        return 0 < self.give_up_after <= self.consecutive_failures

    def _spool(self, event: Any, error: Exception | None) -> None:
        line = json.dumps(Serde.to_dict(event), sort_keys=True)
        with self._lock:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            with self.spool.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
            self.undelivered += 1
            count = self.undelivered
        if error is None:
            log.debug("spooled a lineage event without trying %s", self.destination)
            return
        if self.gave_up:
            log.warning(
                "%s lineage events in a row could not be delivered to %s; the "
                "rest of this run goes straight to %s",
                self.consecutive_failures,
                self.destination,
                self.spool,
            )
        log.warning(
            "could not deliver a lineage event to %s (%s); %s event(s) from this "
            "run are kept in %s; send them again with replay_spool "
            "(diamond lineage replay) once the endpoint is back",
            self.destination,
            error,
            count,
            self.spool,
        )

    def close(self, timeout: float = -1) -> bool:
        """Close the wrapped transport; warn once if events were spooled."""
        if self.undelivered:
            warnings.warn(
                LineageDeliveryWarning(
                    f"{self.undelivered} lineage event(s) could not be delivered "
                    f"to {self.destination} and were kept in {self.spool}; "
                    "replay them with replay_spool once the endpoint is back"
                ),
                stacklevel=2,
            )
        return self.inner.close(timeout)


def _configured_transport() -> dict[str, Any] | None:
    """The transport settings the OpenLineage client would read, if any.

    A client with a do-nothing transport resolves the configuration (file,
    ``OPENLINEAGE__`` variables) without building or warning about a
    transport; ``OPENLINEAGE_URL`` (with ``OPENLINEAGE_ENDPOINT`` and
    ``OPENLINEAGE_API_KEY``) is the HTTP fallback, as in the client.
    """
    probe = OpenLineageClient(transport=NoopTransport(NoopConfig()))
    transport = probe.config.transport
    if transport and transport.get("type"):
        return copy.deepcopy(transport)
    url = os.environ.get("OPENLINEAGE_URL")
    if url:
        # The client's own fallback for the simple variables.
        settings: dict[str, Any] = {
            "type": "http",
            "url": url,
            "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage"),
        }
        api_key = os.environ.get("OPENLINEAGE_API_KEY")
        if api_key:
            settings["auth"] = {"type": "api_key", "apiKey": api_key}
        return settings
    return None


def make_client(target_dir: Path) -> OpenLineageClient:
    """An OpenLineage client for diamond's events.

    The transport comes from the standard OpenLineage configuration when
    there is one, otherwise it appends JSON lines to
    ``<target_dir>/lineage/events.jsonl``. Either way undelivered events
    are kept in ``<target_dir>/lineage/spool.jsonl``. ``OPENLINEAGE_DISABLED
    =true`` turns emission off, as with any OpenLineage client.
    """
    target_dir = Path(target_dir)
    if os.getenv("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        log.info("OPENLINEAGE_DISABLED is true: no lineage events will be sent")
        return OpenLineageClient(transport=NoopTransport(NoopConfig()))
    settings = _configured_transport()
    if settings is None:
        path = events_path(target_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        settings = {"type": "file", "log_file_path": str(path), "append": True}
        log.debug("no OpenLineage transport configured; appending to %s", path)
    try:
        inner = get_default_factory().create(settings)
    except Exception as error:
        kind = settings.get("type")
        msg = (
            f"the OpenLineage transport of type {kind!r} cannot be built: "
            f"{error}. Fix openlineage.yml (or OPENLINEAGE_CONFIG) or the "
            "OPENLINEAGE__TRANSPORT__* variables"
        )
        raise LineageTransportError(msg) from error
    spooling = SpoolingTransport(inner, spool_path(target_dir))
    log.info("lineage events go to %s", spooling.destination)
    return OpenLineageClient(transport=spooling)


def _spooling_transport(client: OpenLineageClient) -> SpoolingTransport:
    transport = client.transport
    if not isinstance(transport, SpoolingTransport):
        msg = (
            f"the client's transport is {transport}, not one made by "
            "governance.lineage.transport.make_client, so it has no spool; "
            "build the client with make_client(target_dir)"
        )
        raise LineageTransportError(msg)
    return transport


def replay_spool(client: OpenLineageClient) -> int:
    """Send the spooled events again through ``client``'s transport.

    The spool is taken over first (renamed), so events spooled meanwhile
    are kept for the next replay. Events that fail again go back into the
    spool; none is lost. Returns the number of events delivered now.
    """
    transport = _spooling_transport(client)
    spool = transport.spool
    if not spool.exists():
        log.info("no spooled lineage events in %s", spool)
        return 0
    taken = spool.with_name(f"{spool.name}.replaying-{os.getpid()}")
    spool.replace(taken)
    sent = 0
    failed = 0
    with taken.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
            except json.JSONDecodeError as error:
                _keep_bad_line(spool, line, number, error)
                failed += 1
                continue
            if transport.deliver(payload):
                sent += 1
            else:
                failed += 1
    taken.unlink()
    log.info(
        "replayed %s spooled lineage event(s) to %s; %s still spooled in %s",
        sent,
        transport.destination,
        failed,
        spool,
    )
    return sent


def _keep_bad_line(spool: Path, line: str, number: int, error: Exception) -> None:
    rejected = spool.with_name(f"{spool.name}.rejected")
    with rejected.open("a", encoding="utf-8") as handle:
        handle.write(line if line.endswith("\n") else line + "\n")
    log.warning(
        "line %s of the lineage spool is not JSON (%s); moved it to %s",
        number,
        error,
        rejected,
    )
