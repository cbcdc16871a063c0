"""The RedisCluster resource as the control plane's store: spec in, record and status out.

The spec is read from kopf's live view of the object at every pass. The record (the
control plane's progress) is kept JSON-encoded in ``status.record``, and the status the
user reads (phase, conditions, shards, reshard progress, last failover) beside it. Writes
go out as status merge patches from a background task; the reconciler waits for them
(``flush``) before it pushes a table to the nodes, so no node ever acts on a decision that
a restarted operator would not find in the record. New record events become Kubernetes
Events on the resource.

Every write names the resourceVersion it was based on, so the API server refuses it
(409) when the object changed since. Most changes are not the record's (kopf's own
annotations, a spec edit): the write is made again on the new version. But when the
stored record is not the one this store last read or wrote, another operator wrote it
(kopf peering keeps one operator active, yet one that lost its peering entry runs on
beside its successor until it notices): the write is dropped and RecordSuperseded hands
the stored record to the control loop, so of two operators only one decision per record
version is stored, and only stored decisions reach the nodes.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import json
import logging
import socket
import time
from collections.abc import Mapping
from typing import Any, Protocol

from ..control.metrics import ClusterMetrics
from ..control.reconciler import RecordSuperseded
from ..model.record import Record, Spec
from .api import KubeApi, KubeError
from .objects import API_VERSION, KIND, Cluster
from .settings import parse_spec

log = logging.getLogger("redslot.k8s")

STATUS_INTERVAL = 1.0  # status-only changes (progress figures) at most this often
# A status the object no longer shows (another operator wrote its own over it, while both
# ran) is written again at most this often; longer than kopf's view takes to show a write.
REASSERT_INTERVAL = 10.0

EVENT_REASONS = (
    ("failover", "Failover"), ("promot", "Failover"), ("rolling restart", "RollingRestart"),
    ("reshard", "Reshard"), ("retiring", "Scale"), ("forming", "Forming"),
    ("disagree", "TableRepush"), ("new id", "NodeReplaced"), ("password", "PasswordRotation"),
)
WARNING_WORDS = ("refused", "abandoned", "lost", "failed", "unavailable", "disagree")


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(stamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(stamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event_reason(text: str) -> tuple[str, str]:
    lowered = text.lower()
    reason = next((r for word, r in EVENT_REASONS if word in lowered), "Reconcile")
    kind = "Warning" if any(word in lowered for word in WARNING_WORDS) else "Normal"
    return reason, kind


def conditions(doc: Mapping[str, Any], previous: list[dict[str, Any]],
               generation: int) -> list[dict[str, Any]]:
    """Ready, SlotsCovered, Resharding, Degraded; a condition's transition time moves only
    when its status does."""
    shards = [s for s in doc["shards"] if not s["retiring"]]
    covered = sum(s["slot_count"] for s in doc["shards"]) == 16384
    phase = doc["phase"]
    wanted = {
        "Ready": (phase == "Ready", phase, doc.get("error") or doc.get("note") or
                  f"{len(shards)} shard(s) serving"),
        "SlotsCovered": (covered, "AllSlotsAssigned" if covered else "SlotsUnassigned",
                         "every slot of 16384 has a master" if covered
                         else "some slots have no master yet"),
        "Resharding": (doc.get("reshard") is not None, "Reshard" if doc.get("reshard")
                       else "Idle", reshard_message(doc.get("reshard"))),
        "Degraded": (phase == "Degraded", "NodesUnhealthy" if phase == "Degraded"
                     else "AllHealthy", doc.get("error") or doc.get("note") or ""),
    }
    before = {c["type"]: c for c in previous}
    found = []
    for kind, (true, reason, message) in wanted.items():
        status = "True" if true else "False"
        old = before.get(kind)
        since = old["lastTransitionTime"] if old and old.get("status") == status else now_iso()
        found.append({"type": kind, "status": status, "reason": reason,
                      "message": message or reason, "lastTransitionTime": since,
                      "observedGeneration": generation})
    return found


def reshard_message(reshard: Mapping[str, Any] | None) -> str:
    if reshard is None:
        return "no reshard running"
    return (f"{reshard['slots_done']}/{reshard['slots_total']} slots, "
            f"{reshard['keys_moved']} keys moved")


def cr_status(doc: Mapping[str, Any], cluster: Cluster, generation: int,
              previous: list[dict[str, Any]]) -> dict[str, Any]:
    """The status document as the RedisCluster's status (camelCase, pod names)."""
    pod = cluster.pod
    shards = []
    ready = 0
    for shard in doc["shards"]:
        members = [shard["master"], *shard["replicas"]]
        healthy = (shard["master"]["up"] and not shard["master"]["held"]
                   and all(r.get("in_sync") for r in shard["replicas"]))
        ready += bool(healthy) and not shard["retiring"]
        shards.append({
            "name": shard["name"], "master": pod(shard["master"]["name"]),
            "replicas": [pod(r["name"]) for r in shard["replicas"]],
            "slots": shard["slots"], "slotCount": shard["slot_count"],
            "retiring": shard["retiring"],
            "nodes": [{"pod": pod(n["name"]), "address": n["address"], "id": n["id"],
                       "up": n["up"], "held": n["held"]} for n in members]})
    status: dict[str, Any] = {
        "phase": doc["phase"], "observedGeneration": generation,
        "ready": f"{ready}/{sum(not s['retiring'] for s in doc['shards'])}",
        "epoch": doc["epoch"], "shards": shards,
        "conditions": conditions(doc, previous, generation),
        "failovers": doc["failover_count"], "message": doc.get("error") or doc.get("note")
        or "", "reshard": None, "lastFailover": None,
    }
    reshard = doc.get("reshard")
    if reshard is not None:
        status["reshard"] = {
            "total": reshard["slots_total"], "done": reshard["slots_done"],
            "keysMoved": reshard["keys_moved"], "keysPerSecond": reshard["keys_per_second"],
            "reason": reshard["reason"], "error": reshard.get("error") or ""}
    if doc["failovers"]:
        last = doc["failovers"][-1]
        failover = {"shard": last.get("shard"), "reason": last.get("reason"),
                    "from": pod(last["from"]) if last.get("from") else None,
                    "to": pod(last["to"]) if last.get("to") else None,
                    "at": iso(last["at"]) if last.get("at") else None,
                    "seconds": last.get("seconds")}
        # The schema has no nulls: a field not known is left out.
        status["lastFailover"] = {k: v for k, v in failover.items() if v is not None}
    return status


def shows(shown: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Whether a status read back from the API server is ``status`` (a null field is one
    the merge patch removed; numbers compare as numbers)."""
    wanted: dict[str, Any] = json.loads(json.dumps(status))
    return all(shown.get(key) == value for key, value in wanted.items())


class Credentialed(Protocol):
    """Where the status of the users' passwords comes from (credentials.Credentials)."""

    status: list[dict[str, Any]]


class KubeStore:
    def __init__(self, api: KubeApi, cluster: Cluster, body: Mapping[str, Any],
                 default_image: str, credentials: Credentialed | None = None,
                 default_resources: dict[str, Any] | None = None) -> None:
        self.api = api
        self.credentials = credentials
        self.cluster = cluster
        self.body = body  # kopf's live view: follows the object as it changes
        self.default_image = default_image
        self.default_resources = default_resources
        self.generation = 0
        self.record_json: str | None = None
        self.saved_record: str | None = None
        self.status: dict[str, Any] = {}
        self.saved_status: dict[str, Any] = {}
        self.status_written = 0.0
        self.events_posted: list[str] = []
        self.unposted: list[str] = []  # events of records saved but not yet stored
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.error = ""
        # The object's version the next write is based on; a refused background write
        # keeps the stored record for the control loop's next save or flush.
        self.version: str | None = (body.get("metadata") or {}).get("resourceVersion")
        self.superseded: RecordSuperseded | None = None
        # The records this store read or wrote lately: kopf's view of the object lags the
        # writes, so an older one of these in it is not another operator's.
        self.ours: collections.deque[str] = collections.deque(maxlen=64)
        self.metrics = ClusterMetrics(f"{cluster.namespace}/{cluster.name}")

    # --- the Store protocol ---

    def load_spec(self) -> Spec:
        """The spec, from kopf's view of the object; raises RecordSuperseded when that
        view shows a record this store neither read nor wrote (another operator's), so an
        operator that writes nothing notices its successor within a pass as well."""
        stored = (self.body.get("status") or {}).get("record")
        if stored and stored != self.saved_record and stored not in self.ours:
            self.adopt(stored, (self.body.get("metadata") or {}).get("resourceVersion"))
            self.raise_superseded()
        self.generation = int(self.body.get("metadata", {}).get("generation") or 0)
        self.cluster.spec = parse_spec(dict(self.body.get("spec") or {}), self.default_image,
                                       self.default_resources)
        return self.cluster.spec.control()

    def load_record(self) -> Record | None:
        raw = (self.body.get("status") or {}).get("record")
        if not raw:
            return None
        self.saved_record = raw
        self.ours.append(raw)
        record = Record.from_json(json.loads(raw))
        self.events_posted = list(record.events)
        return record

    def save_record(self, record: Record) -> None:
        self.raise_superseded()
        self.record_json = json.dumps(record.to_json(), sort_keys=True, separators=(",", ":"))
        fresh = record.events
        if fresh != self.events_posted:
            self.unposted += new_entries(self.events_posted, fresh)
            self.events_posted = list(fresh)
        self.schedule()

    def publish(self, status: dict[str, Any]) -> None:
        previous = self.saved_status.get("conditions") or \
            (self.body.get("status") or {}).get("conditions") or []
        self.status = cr_status(status, self.cluster, self.generation, previous)
        if self.credentials is not None and self.credentials.status:
            self.status["credentials"] = self.credentials.status
        self.metrics.observe(status)
        self.schedule()

    async def flush(self) -> None:
        """Write what is pending now; raises if the API server refuses it."""
        async with self.lock:
            self.raise_superseded()
            patch: dict[str, Any] = {}
            if self.record_json is not None and self.record_json != self.saved_record:
                patch["record"] = self.record_json
            since = time.monotonic() - self.status_written
            changed = self.status != self.saved_status and (since >= STATUS_INTERVAL or patch)
            if self.status and (changed or (since >= REASSERT_INTERVAL and self.overwritten())):
                patch.update(self.status)
            if not patch:
                return
            # Events tell what was decided, so they go out once the decision is stored.
            posting: list[str] = []
            if "record" in patch:
                posting, self.unposted = self.unposted, []
            try:
                await self.write(patch)
            except RecordSuperseded:
                raise  # never stored: never told
            except Exception:
                self.unposted = posting + self.unposted
                raise
            if "record" in patch:
                self.saved_record = patch["record"]
                self.ours.append(patch["record"])
                for entry in posting:
                    self.spawn(self.post_event(entry))
            if "phase" in patch:
                self.saved_status = dict(self.status)
                self.status_written = time.monotonic()

    def overwritten(self) -> bool:
        """Whether the object shows a status other than the one this store last wrote:
        another operator's, written while both ran (it took this one's record over, so
        its writes are not refused); this store writes its own again."""
        shown = self.body.get("status") or {}
        return not shows(shown, self.saved_status)

    def adopt(self, stored: str, version: str | None) -> None:
        """Another operator's record is the stored one: what this store had pending is
        dropped, and the control loop gets the stored record (RecordSuperseded)."""
        record = Record.from_json(json.loads(stored))
        self.saved_record = stored
        self.ours.append(stored)
        self.version = version
        self.record_json = None
        self.events_posted = list(record.events)
        self.unposted = []
        self.superseded = RecordSuperseded(record)

    def raise_superseded(self) -> None:
        taken, self.superseded = self.superseded, None
        if taken is not None:
            raise taken

    async def write(self, patch: dict[str, Any]) -> None:
        """The status patch, on the version last seen; once more on a newer version when
        the object changed but the record did not."""
        cluster = self.cluster
        body: dict[str, Any] = {"status": patch}
        for attempt in range(2):
            if self.version:
                body["metadata"] = {"resourceVersion": self.version}
            try:
                patched = await self.api.patch(API_VERSION, KIND, cluster.namespace,
                                               cluster.name, body, subresource="status")
            except KubeError as error:
                if error.status != 409 or attempt:
                    raise
                current = await self.api.get(API_VERSION, KIND, cluster.namespace,
                                             cluster.name)
                if current is None:
                    raise
                self.version = current["metadata"].get("resourceVersion")
                theirs = (current.get("status") or {}).get("record")
                if theirs and theirs != self.saved_record:
                    self.adopt(theirs, self.version)
                    self.raise_superseded()
                continue
            self.version = ((patched or {}).get("metadata") or {}).get("resourceVersion")
            return

    # --- background writes ---

    def schedule(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.background_flush())

    async def background_flush(self) -> None:
        try:
            await self.flush()
            self.error = ""
        except RecordSuperseded as taken:
            self.superseded = taken
            log.warning("record of %s not written: another operator wrote it first",
                        self.cluster.name)
        except Exception as exc:  # the next save or pass tries again
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("status of %s not written: %s", self.cluster.name, self.error)

    def spawn(self, coroutine: Any) -> None:
        asyncio.get_running_loop().create_task(coroutine)

    async def post_event(self, entry: str) -> None:
        text = entry.split(" ", 1)[1] if entry[:2].isdigit() else entry
        reason, kind = event_reason(text)
        stamp = now_iso()
        cluster = self.cluster
        event = {
            "apiVersion": "v1", "kind": "Event",
            # Named as client-go names events: the object's name and a nanosecond stamp.
            "metadata": {"name": f"{cluster.name}.{time.time_ns():x}",
                         "namespace": cluster.namespace},
            "involvedObject": {"apiVersion": API_VERSION, "kind": KIND, "name": cluster.name,
                               "namespace": cluster.namespace, "uid": cluster.uid},
            "reason": reason, "message": text[:1024], "type": kind,
            "source": {"component": "redslot-operator"},
            "reportingComponent": "redslot.dev/operator", "reportingInstance": socket.gethostname(),
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        }
        try:
            await self.api.create(event)
        except Exception as exc:  # an event lost is not worth a failed pass
            log.warning("event not posted (%s): %s", exc, text)


def new_entries(posted: list[str], fresh: list[str]) -> list[str]:
    """The entries of ``fresh`` after the last one already posted (the list is capped,
    so old entries fall off its front)."""
    if not posted:
        return list(fresh)
    last = posted[-1]
    for index in range(len(fresh) - 1, -1, -1):
        if fresh[index] == last:
            return fresh[index + 1:]
    return list(fresh)
