"""Lineage transports: the file default, standard configuration, console and
HTTP delivery against real local servers, retry, spooling and replay."""

from __future__ import annotations

import http.server
import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.noop import NoopTransport
from openlineage.client.uuid import generate_new_uuid

from governance.lineage.transport import (
    LineageDeliveryWarning,
    LineageTransportError,
    SpoolingTransport,
    events_path,
    make_client,
    replay_spool,
    spool_path,
)

PRODUCER = "https://example.invalid/diamond/tests"
#: Quick retries so failing servers do not slow the suite down.
FAST_RETRY = json.dumps({"total": 3, "connect": 3, "read": 3, "backoff_factor": 0.01})


def make_event(name: str = "diamond.ingest") -> RunEvent:
    """A minimal START event for job ``name`` with a fresh run id."""
    return RunEvent(
        eventType=RunState.START,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace="diamond", name=name),
        producer=PRODUCER,
    )


def read_lines(path: Path) -> list[dict]:
    """The JSON objects of a JSON lines file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


class LineageServer:
    """A Marquez-like endpoint on 127.0.0.1 that records what it receives.

    It answers ``fail_first`` requests with ``status`` (503 by default),
    then accepts; ``fail_first=None`` makes it fail forever.
    """

    def __init__(self, fail_first: int | None = 0, status: int = 503) -> None:
        self.fail_first = fail_first
        self.status = status
        self.requests: list[tuple[str, bytes]] = []
        self.accepted: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with server._lock:
                    server.requests.append((self.path, body))
                    seen = len(server.requests)
                    failing = server.fail_first is None or seen <= server.fail_first
                    if not failing:
                        server.accepted.append(json.loads(body))
                self.send_response(server.status if failing else 201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LineageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def clean_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No OpenLineage settings from the machine: no variables, no yml files.

    The OpenLineage client writes variables itself (it aliases
    ``OPENLINEAGE_URL``), so the whole environment is restored afterwards.
    """
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
    os.environ.clear()
    os.environ.update(saved)


def use_http(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Configure the HTTP transport through ``OPENLINEAGE__`` variables."""
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", url)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TIMEOUT", "2")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY", FAST_RETRY)


def test_default_is_file_transport_appending_json_lines(tmp_path: Path) -> None:
    target = tmp_path / "target"
    first, second = make_event(), make_event("diamond.run")

    client = make_client(target)
    client.emit(first)
    client.close()
    again = make_client(target)
    again.emit(second)
    again.close()

    events = read_lines(events_path(target))
    assert events_path(target) == target / "lineage" / "events.jsonl"
    assert [e["run"]["runId"] for e in events] == [
        str(first.run.runId),
        str(second.run.runId),
    ]
    assert events[1]["job"]["name"] == "diamond.run"
    assert not spool_path(target).exists()


def test_yaml_config_named_by_openlineage_config_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    config = tmp_path / "ol.yml"
    config.write_text(
        f"transport:\n  type: file\n  log_file_path: {elsewhere}\n  append: true\n"
    )
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    target = tmp_path / "target"

    client = make_client(target)
    event = make_event()
    client.emit(event)

    assert [e["run"]["runId"] for e in read_lines(elsewhere)] == [str(event.run.runId)]
    assert not events_path(target).exists()


def test_yaml_config_in_working_directory_is_honoured(tmp_path: Path) -> None:
    elsewhere = tmp_path / "from_cwd.jsonl"
    Path("openlineage.yml").write_text(
        f"transport:\n  type: file\n  log_file_path: {elsewhere}\n  append: true\n"
    )
    client = make_client(tmp_path / "target")
    client.emit(make_event())
    assert len(read_lines(elsewhere)) == 1


def test_env_vars_select_the_console_transport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    target = tmp_path / "target"
    client = make_client(target)
    event = make_event()
    with caplog.at_level(logging.INFO, logger="openlineage.client.transport.console"):
        client.emit(event)

    printed = [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "openlineage.client.transport.console"
    ]
    assert [e["run"]["runId"] for e in printed] == [str(event.run.runId)]
    assert client.transport.inner.kind == "console"
    assert not events_path(target).exists()


def test_env_vars_select_http_and_events_reach_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LineageServer() as server:
        use_http(monkeypatch, server.url)
        client = make_client(tmp_path / "target")
        events = [make_event(), make_event("diamond.run")]
        for event in events:
            client.emit(event)
        client.close()

    assert [path for path, _ in server.requests] == ["/api/v1/lineage"] * 2
    assert [e["run"]["runId"] for e in server.accepted] == [
        str(e.run.runId) for e in events
    ]
    assert not spool_path(tmp_path / "target").exists()


def test_openlineage_url_selects_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LineageServer() as server:
        monkeypatch.setenv("OPENLINEAGE_URL", server.url)
        monkeypatch.setenv("OPENLINEAGE_ENDPOINT", "api/v1/custom")
        monkeypatch.setenv("OPENLINEAGE_API_KEY", "secret-key")
        client = make_client(tmp_path / "target")
        event = make_event()
        client.emit(event)

    assert [path for path, _ in server.requests] == ["/api/v1/custom"]
    assert server.accepted[0]["run"]["runId"] == str(event.run.runId)
    assert client.transport.destination == f"{server.url}/api/v1/custom"


def test_http_failures_are_retried_until_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LineageServer(fail_first=2) as server:
        use_http(monkeypatch, server.url)
        client = make_client(tmp_path / "target")
        event = make_event()
        client.emit(event)

    assert len(server.requests) == 3
    assert [e["run"]["runId"] for e in server.accepted] == [str(event.run.runId)]
    assert client.transport.delivered == 1
    assert client.transport.undelivered == 0
    assert not spool_path(tmp_path / "target").exists()


def test_http_that_always_fails_spools_every_event_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "target"
    events = [make_event(f"diamond.job_{n}") for n in range(5)]
    with LineageServer(fail_first=None) as server:
        use_http(monkeypatch, server.url)
        client = make_client(target)
        with caplog.at_level(logging.WARNING, logger="governance.lineage.transport"):
            for event in events:
                client.emit(event)
        with pytest.warns(LineageDeliveryWarning) as warned:
            client.close()

    # A first try plus three retries for each of the first three events;
    # after three failures in a row the rest are spooled without trying.
    assert len(server.requests) == 4 * 3
    spooled = read_lines(spool_path(target))
    assert [e["run"]["runId"] for e in spooled] == [str(e.run.runId) for e in events]
    assert spooled[4]["job"]["name"] == "diamond.job_4"
    url = f"{server.url}/api/v1/lineage"
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "governance.lineage.transport"
    ]
    failed = [m for m in messages if "could not deliver a lineage event" in m]
    assert len(failed) == 3
    assert all(url in m for m in failed)
    assert "3 event(s)" in failed[-1]
    assert [m for m in messages if "in a row" in m and url in m]
    assert url in str(warned[0].message)
    assert "5 lineage event(s)" in str(warned[0].message)
    assert client.transport.undelivered == 5


def test_spooling_transport_can_keep_trying(tmp_path: Path) -> None:
    class Broken(NoopTransport):
        kind = "broken"

        def __init__(self) -> None:
            self.calls = 0

        def emit(self, event: object) -> None:
            self.calls += 1
            raise ConnectionError("down")

    inner = Broken()
    transport = SpoolingTransport(inner, tmp_path / "spool.jsonl", give_up_after=0)
    for _ in range(5):
        assert transport.deliver(make_event()) is False
    assert inner.calls == 5
    assert len(read_lines(tmp_path / "spool.jsonl")) == 5


def test_replay_sends_spooled_events_and_keeps_those_failing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target"
    events = [make_event(), make_event("diamond.run")]
    with LineageServer(fail_first=None) as down:
        use_http(monkeypatch, down.url)
        client = make_client(target)
        for event in events:
            client.emit(event)
        assert replay_spool(client) == 0
    still = read_lines(spool_path(target))
    assert [e["run"]["runId"] for e in still] == [str(e.run.runId) for e in events]

    with LineageServer() as up:
        use_http(monkeypatch, up.url)
        client = make_client(target)
        assert replay_spool(client) == 2
        assert replay_spool(client) == 0

    assert up.accepted == still
    assert not spool_path(target).exists()
    assert list((target / "lineage").iterdir()) == []


def test_replay_moves_lines_that_are_not_json_aside(tmp_path: Path) -> None:
    target = tmp_path / "target"
    spool = spool_path(target)
    spool.parent.mkdir(parents=True)
    good = make_event()
    client = make_client(target)
    spool.write_text("{not json\n" + json.dumps({"eventType": "START"}) + "\n")
    client.transport.deliver(good)

    assert replay_spool(client) == 1
    assert (spool.parent / "spool.jsonl.rejected").read_text() == "{not json\n"
    assert len(read_lines(events_path(target))) == 2


def test_replay_needs_a_client_from_make_client() -> None:
    client = OpenLineageClient(transport=NoopTransport(None))
    with pytest.raises(LineageTransportError, match="make_client"):
        replay_spool(client)


def test_openlineage_disabled_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    client = make_client(tmp_path / "target")
    client.emit(make_event())
    assert client.transport.kind == "noop"
    assert not (tmp_path / "target").exists()


def test_a_broken_transport_setting_names_the_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    with pytest.raises(LineageTransportError, match="'http'"):
        make_client(tmp_path / "target")


def test_failed_file_writes_are_spooled_too(tmp_path: Path) -> None:
    target = tmp_path / "target"
    events_path(target).parent.mkdir(parents=True)
    events_path(target).mkdir()  # a folder where the log file should be
    client = make_client(target)
    assert isinstance(client.transport, SpoolingTransport)
    client.emit(make_event())
    assert len(read_lines(spool_path(target))) == 1
