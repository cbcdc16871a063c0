"""One RedisCluster on real pods, shared by the day-2 scenarios of e2e/test_realpods_day2.py,
and the writer that proves no acknowledged write is lost.

The writer records every acknowledged write and the time of every attempt, so a test can
read back every acknowledged key and measure how long writes were refused. It finds the
cluster again from the pods' current addresses when the ones it knew are gone (every pod
deleted, each with a new IP).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.cluster import ClusterNode, RedisCluster

from e2e.controlplane import eventually
from e2e.realnode import RealNode

if TYPE_CHECKING:
    from e2e.conftest import Kube

PORT = 6379
READY_TIMEOUT = 300.0
RECONNECT_AFTER = 3  # refused writes in a row before the writer asks the pods again


@dataclass
class RealCluster:
    """A RedisCluster of the operator installed by helm, in its own namespace."""

    kube: Kube
    node: RealNode
    namespace: str
    name: str

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> str:
        return self.kube.kubectl(*args, "-n", self.namespace, check=check, input=input).stdout

    def get(self) -> dict[str, Any]:
        return json.loads(self.kubectl("get", "rediscluster", self.name, "-o", "json"))

    def status(self) -> dict[str, Any]:
        return self.get().get("status") or {}

    def patch(self, spec: dict[str, Any]) -> None:
        self.kubectl("patch", "rediscluster", self.name, "--type=merge",
                     "-p", json.dumps({"spec": spec}))

    def password(self) -> str:
        return base64.b64decode(self.kubectl(
            "get", "secret", f"{self.name}-auth", "-o", "jsonpath={.data.password}")).decode()

    def pods(self, selector: str | None = None) -> dict[str, dict[str, Any]]:
        found = json.loads(self.kubectl(
            "get", "pods", "-l", selector or f"redslot.dev/cluster={self.name}", "-o", "json"))
        return {pod["metadata"]["name"]: pod for pod in found["items"]}

    def pod_ips(self) -> list[str]:
        return [pod["status"]["podIP"] for pod in self.pods().values()
                if pod.get("status", {}).get("podIP")
                and not pod["metadata"].get("deletionTimestamp")]

    def client(self, password: str | None = None) -> RedisCluster:
        return RedisCluster(startup_nodes=[ClusterNode(ip, PORT) for ip in self.pod_ips()],
                            password=password or self.password(), socket_timeout=10,
                            decode_responses=True)

    def ready(self, shards: int) -> dict[str, Any] | None:
        """The status once the cluster serves with ``shards`` shards, every node up, in
        sync and confirmed, and no reshard running; else None."""
        status = self.status()
        found = status.get("shards") or []
        nodes = [n for s in found for n in s["nodes"]]
        if (status.get("phase") == "Ready" and len(found) == shards
                and status.get("ready") == f"{shards}/{shards}" and not status.get("reshard")
                and status.get("observedGeneration") == self.get()["metadata"]["generation"]
                and all(n["up"] and not n["held"] for n in nodes)):
            return status
        return None

    def wait_ready(self, shards: int = 3, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        try:
            return eventually(lambda: self.ready(shards), timeout,
                              f"RedisCluster {self.name} Ready with {shards} shards", 0.5)
        except TimeoutError:
            self.dump()
            raise

    def ids(self) -> dict[str, str]:
        """Node id of each pod, from the status."""
        return {n["pod"]: n["id"] for s in self.status()["shards"] for n in s["nodes"]}

    def events(self) -> list[str]:
        found = json.loads(self.kubectl("get", "events", "--field-selector",
                                        f"involvedObject.name={self.name}", "-o", "json"))
        return [e["message"] for e in sorted(found["items"], key=lambda e: (
            e.get("lastTimestamp") or e.get("eventTime") or "", e["metadata"]["name"]))]

    def operator_pod(self) -> dict[str, Any] | None:
        pods = self.pods("app.kubernetes.io/component=operator")
        running = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        return running[0] if len(running) == 1 else None

    def operator_log(self, lines: int = 80) -> str:
        pod = self.operator_pod()
        if pod is None:
            return "(no operator pod)"
        return self.kubectl("logs", pod["metadata"]["name"], "--tail", str(lines), check=False)

    def dump(self) -> None:
        """What a failure's post-mortem needs: pods, status, the operator's log, and what
        each node says of its role and slots."""
        import redis

        print(self.kubectl("get", "pods,pvc", "-o", "wide", check=False))
        print(json.dumps({k: v for k, v in self.status().items() if k != "record"}, indent=1))
        print(self.operator_log(200))
        password = self.password()
        for ip in self.pod_ips():
            try:
                node = redis.Redis(host=ip, port=PORT, password=password, socket_timeout=5,
                                   decode_responses=True)
                print(ip, node.execute_command("ROLE")[:2],
                      node.execute_command("CLUSTER", "MYID"), node.dbsize())
                node.close()
            except Exception as error:
                print(ip, f"{type(error).__name__}: {error}")


def container_pid(node: RealNode, pod: dict[str, Any]) -> int:
    """The host pid of a pod's (first) container's main process, found through containerd
    and checked against the process's cgroup."""
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    for line in node.ctr("task", "ls").splitlines()[1:]:
        task, pid, state = line.split()[:3]
        if task == container and state == "RUNNING":
            assert container in Path(f"/proc/{pid}/cgroup").read_text()
            return int(pid)
    raise AssertionError(f"no running task for container {container}")


def kill(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    os.kill(pid, sig)


def slot_marks(cluster: RealCluster, password: str) -> list[str]:
    """Every MIGRATING/IMPORTING mark any node has (CLUSTER NODES' ``[slot->-id]``)."""
    import redis

    marks = []
    for ip in cluster.pod_ips():
        node = redis.Redis(host=ip, port=PORT, password=password, socket_timeout=10,
                           decode_responses=True)
        text = node.execute_command("CLUSTER", "NODES")
        lines = text if isinstance(text, str) else "\n".join(text)
        marks += [f"{ip}: {part}" for line in lines.splitlines()
                  for part in line.split() if part.startswith("[")]
        node.close()
    return marks


def slot_counts(status: dict[str, Any]) -> list[int]:
    return sorted(s["slotCount"] for s in status["shards"])


@dataclass
class Writer:
    """Writes ``prefix:i`` = i in a loop from a thread; ``acknowledged`` has every write the
    cluster said OK to, ``history`` the end time of every attempt and whether it was
    acknowledged, ``failures`` each failed attempt's error with its time, ``client_log``
    redis-py's own retries with theirs. ``password`` can be switched while it runs (a new
    client, as an application reloading its Secret)."""

    cluster: RealCluster
    password: str
    prefix: str
    interval: float = 0.005
    # An in-cluster client's connect timeout: pod-to-pod round trips are well under 1 ms.
    connect_timeout: float = 0.5
    acknowledged: dict[str, str] = field(default_factory=dict)
    history: list[tuple[float, bool]] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # (time, error)
    client_log: list[tuple[float, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Writer:
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"writer {self.prefix}")
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(60)

    def run(self) -> None:
        # redis-py retries a refused connection or a timeout inside one call, with backoff,
        # and says so only in its debug log: kept, so a slow write can be told apart.
        handler = ClientLog(self)
        logger = logging.getLogger("redis.cluster")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            self.write()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        eventually(lambda: len(self.acknowledged) >= count, timeout,
                   f"{count} acknowledged writes ({self.prefix})", 0.1)

    def connect(self) -> RedisCluster:
        return RedisCluster(
            startup_nodes=[ClusterNode(ip, PORT) for ip in self.cluster.pod_ips()],
            password=self.password, socket_timeout=5, socket_connect_timeout=self.connect_timeout,
            decode_responses=True)

    def write(self) -> None:
        client: RedisCluster | None = None
        used = ""
        refused = 0
        i = 0
        while not self.stopping.is_set():
            if client is None or used != self.password or refused >= RECONNECT_AFTER:
                if client is not None:
                    client.close()
                used, refused = self.password, 0
                try:
                    client = self.connect()
                except Exception as error:  # no pod answers yet: ask the pods again
                    client = None
                    self.error(f"connect: {type(error).__name__}: {error}")
                    time.sleep(0.5)
                    continue
            key, value = f"{self.prefix}:{i}", str(i)
            try:
                acknowledged = bool(client.set(key, value))
            except Exception as error:
                acknowledged = False
                self.error(f"{type(error).__name__}: {error}")
            self.history.append((time.monotonic(), acknowledged))
            if acknowledged:
                self.acknowledged[key] = value
                refused = 0
            else:
                refused += 1
                time.sleep(0.05)
            i += 1
            time.sleep(self.interval)
        if client is not None:
            client.close()

    def error(self, text: str) -> None:
        self.failures.append((time.monotonic(), text))

    @property
    def errors(self) -> list[str]:
        return [text for _, text in self.failures]

    def longest_refusal(self) -> float:
        """The longest time between two acknowledged writes with refused ones between."""
        longest, last_ok, refused = 0.0, None, False
        for moment, acknowledged in self.history:
            if not acknowledged:
                refused = True
            elif last_ok is not None and refused:
                longest = max(longest, moment - last_ok)
                refused = False
            if acknowledged:
                last_ok, refused = moment, False
        return longest

    def longest_gap(self) -> float:
        """The longest time with no write acknowledged (a paused write counts too)."""
        start, end = self.longest_gap_bounds()
        return end - start

    def gaps(self) -> list[tuple[float, float]]:
        times = [moment for moment, acknowledged in self.history if acknowledged]
        return list(zip(times, times[1:], strict=False))

    def longest_gap_bounds(self) -> tuple[float, float]:
        return max(self.gaps(), key=lambda gap: gap[1] - gap[0], default=(0.0, 0.0))

    def dead_address_seconds(self, start: float, end: float) -> float:
        """The time redis-py spent from ``start`` to ``end`` connecting to addresses that
        answer nothing. A topology refresh asks its startup nodes in turn, and a restarted
        pod has a new IP: its old one drops the SYN, so each such try lasts the connect
        timeout. That time is the client's configuration, not the cluster's."""
        return self.connect_timeout * sum(
            1 for moment, text in self.client_log
            if start < moment <= end and "Timeout connecting to server" in text)

    def longest_gap_of_the_cluster(self) -> float:
        """The longest gap less the time redis-py spent on addresses of deleted pods."""
        return max((end - start - self.dead_address_seconds(start, end)
                    for start, end in self.gaps()), default=0.0)

    def longest_gap_story(self) -> str:
        """When the longest gap was (seconds into the run), what the writes it held met, and
        how long the attempt that ended it took: enough to tell a refused write from a
        write that waited on the client's own retries."""
        start, end = self.longest_gap_bounds()
        first = self.history[0][0] if self.history else start
        attempts = [moment for moment, _ in self.history if start < moment <= end]
        before = [moment for moment, _ in self.history if moment <= start]
        errors, client = ([f"+{moment - start:.2f} s {text}" for moment, text in log
                           if start < moment <= end] for log in (self.failures, self.client_log))
        last_attempt = end - max([start, *[m for m in attempts if m < end]]) if attempts else 0.0
        return (f"longest gap {end - start:.2f} s from {start - first:.2f} s into the run "
                f"({len(before)} attempts before it), {len(attempts)} attempts in it, the "
                f"last one took {last_attempt:.2f} s, {self.dead_address_seconds(start, end):.2f}"
                f" s of it connecting to dead addresses; errors in it: {errors[:8]}; "
                f"redis-py's own retries in it: {client[:12]}")


class ClientLog(logging.Handler):
    """redis-py's cluster debug records from one Writer's thread, with their times."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(logging.DEBUG)
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == f"writer {self.writer.prefix}":
            self.writer.client_log.append((time.monotonic(), record.getMessage()[:300]))


def lost_writes(cluster: RealCluster, expected: dict[str, str]) -> list[str]:
    """Keys whose acknowledged value cannot be read back now."""
    client = cluster.client()
    keys = sorted(expected)
    lost = []
    for start in range(0, len(keys), 5000):
        chunk = keys[start:start + 5000]
        pipe = client.pipeline()
        for key in chunk:
            pipe.get(key)
        lost += [k for k, v in zip(chunk, pipe.execute(), strict=True) if v != expected[k]]
    client.close()
    return lost
