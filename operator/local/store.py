"""The cluster directory: spec, record and status as JSON files, each written atomically.

``spec.json`` is what the user asked for (``redslot up``, ``scale``, ``failover`` write
it), ``record.json`` the control plane's own progress, ``status.json`` what it last saw,
``up.pid`` the running ``redslot up``. Other commands talk to a running cluster only
through these files and the nodes themselves, as kubectl talks to a resource.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..control.metrics import ClusterMetrics
from ..model.record import Record, Spec


def write_json(path: Path, data: Any, durable: bool = True) -> None:
    """Replace ``path`` atomically; ``durable``: synced to disk before the rename."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
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

    def exists(self) -> bool:
        return self.spec_path.exists()

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def node_dir(self, name: str) -> Path:
        return self.path / "nodes" / name

    # --- spec ---

    def load_spec(self) -> Spec:
        return Spec.from_json(read_json(self.spec_path))

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
        # Written every pass and derived anew by the next: not worth a sync to disk.
        write_json(self.status_path, status, durable=False)
        if self.metrics is not None:
            self.metrics.observe(status)

    def load_status(self) -> dict[str, Any] | None:
        if not self.status_path.exists():
            return None
        data: dict[str, Any] = read_json(self.status_path)
        return data

    # --- the running control plane ---

    def running_pid(self) -> int | None:
        """The pid of a live ``redslot up`` for this directory, if there is one."""
        try:
            pid = int(self.pid_path.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid
