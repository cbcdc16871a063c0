"""The control plane's own Prometheus metrics, taken from the status document it publishes
after every pass (so they show exactly what ``status`` shows), served on /metrics.

Per cluster (label ``cluster``, ``namespace/name`` in Kubernetes): reconcile passes and
failed passes, failovers (by reason) and the manual ones' durations, the reshard's slots
done and total, slots and keys moved, and nodes by role and health.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

PASSES = Counter("redslot_operator_reconcile", "Reconcile passes.", ["cluster"],
                 registry=REGISTRY)
ERRORS = Counter("redslot_operator_reconcile_errors", "Reconcile passes that failed.",
                 ["cluster"], registry=REGISTRY)
FAILOVERS = Counter("redslot_operator_failovers", "Failovers, by reason.",
                    ["cluster", "reason"], registry=REGISTRY)
FAILOVER_SECONDS = Histogram(
    "redslot_operator_failover_duration_seconds",
    "Manual failovers: from the pause of writes to the new master serving.", ["cluster"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=REGISTRY)
RESHARD_DONE = Gauge("redslot_operator_reshard_slots_done",
                     "Slots moved so far by the running reshard (0 when none runs).",
                     ["cluster"], registry=REGISTRY)
RESHARD_TOTAL = Gauge("redslot_operator_reshard_slots_total",
                      "Slots the running reshard moves (0 when none runs).", ["cluster"],
                      registry=REGISTRY)
SLOTS_MOVED = Counter("redslot_operator_slots_moved", "Slots moved by reshards.",
                      ["cluster"], registry=REGISTRY)
KEYS_MOVED = Counter("redslot_operator_keys_moved", "Keys moved by reshards.", ["cluster"],
                     registry=REGISTRY)
NODES = Gauge("redslot_operator_nodes", "Nodes by role and health.",
              ["cluster", "role", "health"], registry=REGISTRY)
EPOCH = Gauge("redslot_operator_topology_epoch", "The topology epoch last pushed.",
              ["cluster"], registry=REGISTRY)
PHASE = Gauge("redslot_operator_cluster_phase", "1 for the cluster's current phase.",
              ["cluster", "phase"], registry=REGISTRY)

PHASES = ("Forming", "Resharding", "Scaling", "Degraded", "Ready")
HEALTHS = ("up", "held", "down")
# Failover reasons (healing.py, rolling.py), the measured time dropped so that each
# automatic failover does not start a series of its own.
REASONS = ("manual failover", "failover for a rolling restart", "master restarted",
           "master unreachable")


class ClusterMetrics:
    """Turns successive status documents of one cluster into metric updates."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self.failovers_seen: int | None = None
        self.slots_done = 0
        self.keys_moved = 0
        # Counters exist from the start at 0: one born at 1 (the first failed pass, the first
        # failover) makes increase() and rate() see no change, so the first event never shows.
        for counter in (PASSES, ERRORS, SLOTS_MOVED, KEYS_MOVED, FAILOVER_SECONDS):
            counter.labels(cluster)
        for reason in REASONS:
            FAILOVERS.labels(cluster, reason)

    def observe(self, doc: Mapping[str, Any]) -> None:
        c = self.cluster
        PASSES.labels(c).inc()
        if doc.get("error"):
            ERRORS.labels(c).inc()
        EPOCH.labels(c).set(doc["epoch"])
        for phase in PHASES:
            PHASE.labels(c, phase).set(1 if doc["phase"] == phase else 0)
        counts = {(role, health): 0 for role in ("master", "replica") for health in HEALTHS}
        for shard in doc["shards"]:
            for node in [shard["master"], *shard["replicas"]]:
                health = "down" if not node["up"] else "held" if node["held"] else "up"
                counts[(node["role"], health)] += 1
        for (role, health), count in counts.items():
            NODES.labels(c, role, health).set(count)
        self.observe_failovers(doc)
        self.observe_reshard(doc.get("reshard"))

    def observe_failovers(self, doc: Mapping[str, Any]) -> None:
        total = doc["failover_count"]
        if self.failovers_seen is None:  # a restarted operator does not count old ones again
            self.failovers_seen = total
            return
        fresh = total - self.failovers_seen
        self.failovers_seen = total
        for failover in (doc["failovers"][-fresh:] if fresh > 0 else []):
            reason = failover.get("reason", "")
            if reason.startswith("master unreachable"):  # "... for 3012 ms"
                reason = "master unreachable"
            FAILOVERS.labels(self.cluster, reason).inc()
            if failover.get("seconds") is not None:
                FAILOVER_SECONDS.labels(self.cluster).observe(failover["seconds"])

    def observe_reshard(self, reshard: Mapping[str, Any] | None) -> None:
        c = self.cluster
        if reshard is None:
            RESHARD_DONE.labels(c).set(0)
            RESHARD_TOTAL.labels(c).set(0)
            self.slots_done = self.keys_moved = 0
            return
        RESHARD_DONE.labels(c).set(reshard["slots_done"])
        RESHARD_TOTAL.labels(c).set(reshard["slots_total"])
        if reshard["slots_done"] > self.slots_done:
            SLOTS_MOVED.labels(c).inc(reshard["slots_done"] - self.slots_done)
        if reshard["keys_moved"] > self.keys_moved:
            KEYS_MOVED.labels(c).inc(reshard["keys_moved"] - self.keys_moved)
        self.slots_done = reshard["slots_done"]
        self.keys_moved = reshard["keys_moved"]

    def forget(self) -> None:
        """The cluster is gone: drop its series."""
        for metric in (PASSES, ERRORS, FAILOVER_SECONDS, RESHARD_DONE, RESHARD_TOTAL,
                       SLOTS_MOVED, KEYS_MOVED, EPOCH):
            try:
                metric.remove(self.cluster)
            except KeyError:
                pass
        for metric, labels in ((NODES, [(r, h) for r in ("master", "replica")
                                         for h in HEALTHS]),
                               (PHASE, [(p,) for p in PHASES]),
                               (FAILOVERS, [(r,) for r in REASONS])):
            for extra in labels:
                try:
                    metric.remove(self.cluster, *extra)
                except KeyError:
                    pass


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


async def serve_metrics(port: int, host: str = "0.0.0.0") -> Any:
    """Serve /metrics on the running event loop (the operator's loop only waits on I/O)."""
    from aiohttp import web

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
