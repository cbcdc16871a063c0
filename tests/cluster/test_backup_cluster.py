"""`redis-cli --rdb` against every master of a `redslot up` cluster: each backup passes
redis-check-rdb and holds that master's keys; `redis-cli --replica` on a master shows the
writes routed to it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
from local_cluster import LocalCluster, key_in_shard


def test_every_master_hands_out_a_backup_and_its_stream(tmp_path: Path) -> None:
    cluster = LocalCluster(2, 1)
    try:
        status = cluster.wait_ready()
        client = cluster.client()
        for i in range(300):
            client.set(f"backup:{i}", i)
        for n, shard in enumerate(status["shards"]):
            port = int(shard["master"]["address"].rsplit(":", 1)[1])
            keys = redis.Redis(port=port).dbsize()
            backup = tmp_path / f"shard-{n}.rdb"
            done = subprocess.run(["redis-cli", "-p", str(port), "--rdb", str(backup)],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            check = subprocess.run(["redis-check-rdb", str(backup)], capture_output=True,
                                   text=True, timeout=60)
            assert f"{keys} keys read" in check.stdout, check.stdout
        port = int(status["shards"][0]["master"]["address"].rsplit(":", 1)[1])
        watcher = subprocess.Popen(["redis-cli", "-p", str(port), "--replica"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)  # SYNC done; the stream follows
            key = key_in_shard(status, 0, "live")
            client.set(key, "seen")
        finally:
            time.sleep(0.5)
            watcher.terminate()
            out, _ = watcher.communicate(timeout=10)
        assert f'"SET","{key}","seen"' in out
        client.close()
    finally:
        cluster.close()
