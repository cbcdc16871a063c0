"""Streams replicate by effects: a redis-server replica of redslot, and a redslot node
reloading its AOF, end with the same entries, groups, PELs (delivery times and counts
included) and consumers as the master, whatever IDs ``*`` chose, whatever approximate
trims removed, whatever XREADGROUP, XCLAIM and XAUTOCLAIM delivered.

Consumers' seen times are the replica's own clock (Redis propagates no XREADGROUP, and a
consumer an XCLAIM creates is seen when it is created), so they are masked. Redis's own
effects do not carry everything: a group's entries-read counter moves on a replica only
with XGROUP SETID (the XCLAIMs of a read carry the last ID, not the counter), so a
replica's entries-read and lag differ from its master's in Redis too. Replicas are
therefore compared with each other in full (a redslot replica and a redis-server replica
of the same master), and with the master on entries, PELs and last delivered IDs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from nodes import ServerProcess, start_node, start_redis_server
from replication_wait import caught_up, until


def follow(replica: redis.Redis, master: ServerProcess) -> None:
    replica.replicaof("127.0.0.1", master.port)
    until(lambda: replica.info("replication").get("master_link_status") == "up")


def workload(r: redis.Redis) -> None:
    for i in range(400):
        r.xadd("jobs", {"n": i, "payload": "x" * (i % 50)})
    r.xadd("jobs", {"n": "trim"}, maxlen=300, approximate=True)
    r.xtrim("jobs", minid="0-1", approximate=True)
    r.xgroup_create("jobs", "workers", "0")
    r.xgroup_create("jobs", "audit", "$")
    r.xreadgroup("workers", "w1", {"jobs": ">"}, count=50)
    r.xreadgroup("workers", "w2", {"jobs": ">"}, count=50, noack=True)
    r.xreadgroup("workers", "w3", {"jobs": ">"}, count=30)
    first = r.xrange("jobs", count=5)
    r.xack("jobs", "workers", first[0][0])
    r.xdel("jobs", first[1][0], first[2][0])
    r.xclaim("jobs", "workers", "w4", 0, [first[3][0]], retrycount=9)
    r.xautoclaim("jobs", "workers", "w5", 0, "0-0", count=20)
    r.xgroup_createconsumer("jobs", "audit", "lonely")
    r.xgroup_setid("jobs", "audit", "0")
    r.xreadgroup("audit", "a1", {"jobs": "0"}, count=3)
    r.xadd("other", {"a": "1"}, id="5-*")
    r.xadd("other", {"a": "2"}, id="5-*")
    r.execute_command("XSETID", "other", "9-9", "ENTRIESADDED", 10, "MAXDELETEDID", "1-0")
    r.xgroup_create("blocked", "g", "$", mkstream=True)
    served: list[Any] = []
    reader = redis.Redis(port=r.connection_pool.connection_kwargs["port"])
    waiter = threading.Thread(target=lambda: served.append(
        reader.xreadgroup("g", "sleeper", {"blocked": ">"}, block=5000)))
    waiter.start()
    until(lambda: r.info("clients")["blocked_clients"] == 1)
    r.xadd("blocked", {"wake": "up"})
    waiter.join(10)
    assert served and served[0]


def state(r: redis.Redis) -> list[Any]:
    out = []
    for key in ("jobs", "other", "blocked"):
        full = r.xinfo_stream(key, full=True)
        for group in full["groups"]:
            for consumer in group["consumers"]:
                consumer["seen-time"] = 0
        out.append(full)
        out.append(r.execute_command("DEBUG", "DIGEST-VALUE", key))
    return out


def delivered(r: redis.Redis) -> list[Any]:
    """What a master and its replicas agree on: entries, PELs, last delivered IDs."""
    out = []
    for key in ("jobs", "other", "blocked"):
        full = r.xinfo_stream(key, full=True)
        out.append(r.execute_command("DEBUG", "DIGEST-VALUE", key))
        out.append([(group["name"], group["last-delivered-id"], group["pending"])
                    for group in full["groups"]])
    return out


def test_replicas_of_redslot_have_the_streams_a_redis_server_replica_has():
    master, ours, theirs = start_node(), start_node(), start_redis_server()
    try:
        m = redis.Redis(port=master.port)
        replicas = [redis.Redis(port=ours.port), redis.Redis(port=theirs.port)]
        m.xadd("before", {"a": 1}, id="1-1")
        for r in replicas:
            follow(r, master)
        workload(m)
        for r in replicas:
            until(lambda r=r: caught_up(m, r))
        assert state(replicas[0]) == state(replicas[1])
        assert delivered(replicas[0]) == delivered(m)
        assert replicas[0].xrange("before") == [(b"1-1", {b"a": b"1"})]
    finally:
        for proc in (master, ours, theirs):
            proc.stop()


def test_streams_survive_aof_replay(tmp_path):
    node = start_node("--dir", str(tmp_path), "--appendonly", "yes", "--appendfsync", "always")
    try:
        r = redis.Redis(port=node.port)
        workload(r)
        before = delivered(r)
    finally:
        node.stop()
    time.sleep(0.1)
    again = start_node("--dir", str(tmp_path), "--appendonly", "yes")
    try:
        assert delivered(redis.Redis(port=again.port)) == before
    finally:
        again.stop()
