"""The cluster directory: spec, record and status as JSON files, each written atomically.

``spec.json`` is what the user asked for (``redslot up``, ``scale``, ``failover`` write
it), ``record.json`` the control plane's own progress, ``status.json`` what it last saw,
``up.pid`` the running ``redslot up``. Other commands talk to a running cluster only
through these files and the nodes themselves, as kubectl talks to a resource.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..control.metrics import ClusterMetrics
from ..model.record import Record, Spec


def write_json(path: Path, data: Any, durable: bool = True, indent: int | None = 1) -> None:
    """Replace ``path`` atomically; ``durable``: synced to disk before the rename;
    ``indent`` None: on one line, by the json module's C encoder (indenting takes its
    pure-Python one, most of the cost of writing the status every pass)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "w") as handle:
        handle.write(json.dumps(data, indent=indent, sort_keys=True))
        handle.write("\n")
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    with open(path) as handle:
        return json.load(handle)


class ClusterDirectory:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        self.spec_path = self.path / "spec.json"
        self.record_path = self.path / "record.json"
        self.status_path = self.path / "status.json"
        self.pid_path = self.path / "up.pid"
        self.metrics: ClusterMetrics | None = None  # set when `up` serves /metrics
        self.spec_read: tuple[bytes, Spec] | None = None  # load_spec's last text and spec

    def exists(self) -> bool:
        return self.spec_path.exists()

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def node_dir(self, name: str) -> Path:
        return self.path / "nodes" / name

    # --- spec ---

    def load_spec(self) -> Spec:
        """Parsed again only when its text changed: a running control plane looks four
        times a second."""
        text = self.spec_path.read_bytes()
        if self.spec_read is None or self.spec_read[0] != text:
            self.spec_read = (text, Spec.from_json(json.loads(text)))
        spec = self.spec_read[1]
        return replace(spec, failover_requests=dict(spec.failover_requests))

    def save_spec(self, spec: Spec) -> None:
        write_json(self.spec_path, spec.to_json())

    # --- record ---

    def load_record(self) -> Record | None:
        if not self.record_path.exists():
            return None
        return Record.from_json(read_json(self.record_path))

    def save_record(self, record: Record) -> None:
        write_json(self.record_path, record.to_json())

    async def flush(self) -> None:
        """Records are written synchronously here: nothing is ever pending."""

    # --- status ---

    def publish(self, status: dict[str, Any]) -> None:
        # Written every pass and derived anew by the next: not worth a sync to disk, nor
        # indenting (`redslot status` renders it).
        write_json(self.status_path, status, durable=False, indent=None)
        if self.metrics is not None:
            self.metrics.observe(status)

    def load_status(self) -> dict[str, Any] | None:
        if not self.status_path.exists():
            return None
        data: dict[str, Any] = read_json(self.status_path)
        return data

    # --- the running control plane ---

    def nudge_running(self) -> None:
        """Tell the running ``up`` that the spec changed (SIGUSR1): it acts at once
        instead of reading the spec several times a second."""
        pid = self.running_pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1)

    def running_pid(self) -> int | None:
        """The pid of a live ``redslot up`` for this directory, if there is one."""
        try:
            pid = int(self.pid_path.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid
