"""Day-2 scenarios on real pods (e2e/realnode.py): one RedisCluster (3 shards, a replica
each, durability zero-loss) of a helm-installed operator, shared by the tests and brought
back to 3 Ready shards with a fresh set of keys before each. Every scenario runs under a
writer and checks that no acknowledged write is lost and every key survives. Each test
prints the time of its phases."""

from __future__ import annotations

import base64
import datetime
import json
import signal
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from e2e.controlplane import eventually, phase_timer
from e2e.realcluster import (
    PORT,
    RealCluster,
    Writer,
    container_pid,
    kill,
    lost_writes,
    slot_counts,
    slot_marks,
)
from e2e.realnode import RealNode

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(1800)  # the first test also waits for the shared node and cluster

REPO = Path(__file__).resolve().parent.parent
NAME = "day2"
BASELINE = 2000  # keys written before each scenario, all checked after it
APP_SECRET = "app-secret"  # the password of the cluster's user "app"
APP_RULES = ["~app:*", "+@read", "+@write", "+@connection", "-@dangerous"]


@pytest.fixture(scope="module")
def shared(kube: Kube, real_node: RealNode) -> Iterator[RealCluster]:
    done = phase_timer("day2 cluster")
    namespace = f"e2e-day2-{uuid.uuid4().hex[:6]}"
    kube.kubectl("create", "namespace", namespace)
    eventually(lambda: kube.kubectl("get", "serviceaccount", "default", "-n", namespace,
                                    check=False).returncode == 0, 30, "the default SA")
    repository, tag = real_node.image.removeprefix("docker.io/library/").rsplit(":", 1)
    kube.helm("install", "redslot", str(REPO / "charts/redslot"), "--namespace", namespace,
              "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
              "--wait", "--timeout", "300s", timeout=330)
    done("helm install")
    cluster = RealCluster(kube, real_node, namespace, NAME)
    cluster.kubectl("create", "secret", "generic", APP_SECRET, "--from-literal=password=app-one")
    spec = {"shards": 3, "replicasPerShard": 1, "durability": "zero-loss",
            "auth": {"rotationGraceSeconds": 5},
            "users": [{"name": "app", "rules": APP_RULES,
                       "passwordSecret": {"name": APP_SECRET}}]}
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(
        {"apiVersion": "redslot.dev/v1alpha1", "kind": "RedisCluster",
         "metadata": {"name": NAME}, "spec": spec}))
    cluster.wait_ready(3)
    done("RedisCluster Ready (3 shards x 2 pods)")
    yield cluster
    kube.kubectl("delete", "rediscluster", NAME, "-n", namespace, "--timeout=120s",
                 check=False, timeout=150)
    kube.helm("uninstall", "redslot", "--namespace", namespace, "--wait", "--timeout",
              "120s", check=False, timeout=150)
    kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture
def cluster(shared: RealCluster, request: pytest.FixtureRequest) -> Iterator[RealCluster]:
    """The shared cluster with 3 Ready shards and only the baseline keys (a reshard a
    failed test left running is let finish first: shards cannot be lowered meanwhile)."""
    done = phase_timer("reset")
    eventually(lambda: not shared.status().get("reshard"), 300, "no reshard running", 0.5)
    shared.patch({"shards": 3})
    shared.wait_ready(3)

    def seeded() -> bool:
        try:
            client = shared.client()
            client.flushall(target_nodes=RedisCluster.PRIMARIES)
            pipe = client.pipeline()
            for i in range(BASELINE):
                pipe.set(f"base:{i}", i)
            written = all(pipe.execute())
            client.close()
            return written
        except Exception as error:  # a failover just then: the next try finds the new master
            print(f"   [reset] seeding the keys: {type(error).__name__}: {error}")
            return False
    eventually(seeded, 120, "the baseline keys written", 1.0)
    done(f"3 shards Ready, flushed, {BASELINE} baseline keys")
    failed = request.session.testsfailed
    yield shared
    if request.session.testsfailed > failed:
        shared.dump()


def baseline() -> dict[str, str]:
    return {f"base:{i}": str(i) for i in range(BASELINE)}


def app_password(cluster: RealCluster) -> str:
    return base64.b64decode(cluster.kubectl(
        "get", "secret", APP_SECRET, "-o", "jsonpath={.data.password}")).decode()


def accepts(ip: str, password: str, user: str = "default") -> bool:
    """Whether the node takes the password (at once: redis-py's default retries with
    backoff would spend about 2.5 s on each refusal)."""
    client = redis.Redis(host=ip, port=PORT, username=user, password=password,
                         socket_timeout=5, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except redis.AuthenticationError:
        return False
    finally:
        client.close()


def assert_nothing_lost(cluster: RealCluster, writer: Writer) -> None:
    expected = {**baseline(), **writer.acknowledged}
    lost = lost_writes(cluster, expected)
    assert not lost, f"{len(lost)} of {len(expected)} acknowledged writes lost: {lost[:10]}"


def test_a_node_process_sigkilled_in_its_container_restarts_in_place_with_its_id_and_data(
        cluster: RealCluster) -> None:
    done = phase_timer("sigkill")
    status = cluster.status()
    victim = status["shards"][0]["master"]
    before = cluster.pods()[victim]
    ids = cluster.ids()
    writer = Writer(cluster, cluster.password(), "kill").start()
    writer.wait_for(100)
    pid = container_pid(cluster.node, before)
    kill(pid, signal.SIGKILL)
    done(f"{victim}'s node process (host pid {pid}) SIGKILLed")

    def restarted() -> bool:
        pod = cluster.pods().get(victim)
        statuses = (pod or {}).get("status", {}).get("containerStatuses") or [{}]
        return bool(pod) and statuses[0].get("restartCount", 0) >= 1 and \
            statuses[0].get("ready", False)
    eventually(restarted, 120, f"{victim}'s container restarted in place", 0.5)
    done("container restarted in place")
    cluster.wait_ready(3)
    done("cluster Ready again")
    writer.wait_for(len(writer.acknowledged) + 100)
    writer.stop()
    after = cluster.pods()[victim]
    assert after["metadata"]["uid"] == before["metadata"]["uid"], "the same pod"
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert cluster.ids() == ids, "every node kept its id"
    # The restarted node has the shard's data: its keys are its master's.
    password = cluster.password()
    shard = next(s for s in cluster.status()["shards"]
                 if victim in (s["master"], *s["replicas"]))
    sizes = {}
    for node in shard["nodes"]:
        ip = node["address"].rsplit(":", 1)[0]
        sizes[node["pod"]] = redis.Redis(host=ip, port=PORT, password=password,
                                         socket_timeout=10).dbsize()
    assert len(set(sizes.values())) == 1 and sizes[victim] > 0, sizes
    assert_nothing_lost(cluster, writer)
    done(f"{len(writer.acknowledged)} acknowledged writes and {BASELINE} keys read back "
         f"(writes refused at most {writer.longest_refusal():.1f} s, none acknowledged for "
         f"{writer.longest_gap():.1f} s)")


def test_a_password_secret_rotated_while_clients_keep_working(cluster: RealCluster) -> None:
    """Both Secrets rotated at once, the operator's (user default) and a user's (app, with
    its ACL rules), while a client writes with the default password and switches during
    the overlap."""
    done = phase_timer("rotation")
    old, app_old = cluster.password(), app_password(cluster)
    new, app_new = f"rotated-{uuid.uuid4().hex[:12]}", f"app-{uuid.uuid4().hex[:12]}"
    ips = cluster.pod_ips()
    # The user from the Secret does what its rules allow, and nothing else, on every node.
    admin_client = cluster.client()
    owner = admin_client.get_node_from_key("app:1")
    admin_client.close()
    app = redis.Redis(host=owner.host, port=PORT, username="app", password=app_old,
                      socket_timeout=5, decode_responses=True)
    assert app.set("app:1", "x") and app.get("app:1") == "x"
    for refused_command in (lambda: app.set("other:1", "x"), lambda: app.config_get("maxmemory"),
                            app.flushall):
        with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
            refused_command()
    assert not accepts(ips[0], "wrong", "app")
    assert all(accepts(ip, app_old, "app") for ip in ips)

    writer = Writer(cluster, old, "rot").start()
    writer.wait_for(100)
    cluster.kubectl("patch", "secret", f"{NAME}-auth", "--type=merge",
                    "-p", json.dumps({"stringData": {"password": new}}))
    cluster.kubectl("patch", "secret", APP_SECRET, "--type=merge",
                    "-p", json.dumps({"stringData": {"password": app_new}}))

    def phases() -> dict[str, str]:
        return {c["user"]: c["phase"] for c in cluster.status().get("credentials") or []}
    eventually(lambda: phases() == {"default": "Overlap", "app": "Overlap"}, 120,
               "both new passwords added everywhere", 0.2)
    done("Secrets patched: old and new passwords valid (Overlap)")
    assert all(accepts(ip, old) and accepts(ip, new) for ip in ips)
    assert all(accepts(ip, app_old, "app") and accepts(ip, app_new, "app") for ip in ips)
    writer.password = new  # the application reloads its Secret
    eventually(lambda: phases() == {"default": "Current", "app": "Current"}, 120,
               "the old passwords removed", 0.2)
    done("old passwords removed (Current)")
    assert not any(accepts(ip, old) or accepts(ip, app_old, "app") for ip in ips)
    assert all(accepts(ip, new) and accepts(ip, app_new, "app") for ip in ips)
    app = redis.Redis(host=owner.host, port=PORT, username="app", password=app_new,
                      socket_timeout=5, decode_responses=True)
    assert app.get("app:1") == "x"
    writer.wait_for(len(writer.acknowledged) + 100)
    writer.stop()
    assert writer.errors == [], writer.errors[:5]
    done("the users' rules and passwords checked on every node")
    # Replication authenticates with the new masterauth: a broken link comes back.
    shard = cluster.status()["shards"][0]
    replica_ip = next(n["address"] for n in shard["nodes"]
                      if n["pod"] == shard["replicas"][0]).rsplit(":", 1)[0]
    admin = redis.Redis(host=replica_ip, port=PORT, password=new, socket_timeout=5,
                        decode_responses=True)
    admin.execute_command("CLIENT", "KILL", "TYPE", "master")
    eventually(lambda: admin.info("replication").get("master_link_status") == "up", 30,
               "the replica's link back with the new masterauth", 0.2)
    done("a replica's broken link back with the new masterauth")
    found = json.loads(cluster.kubectl("get", "events", "--field-selector",
                                       f"involvedObject.name={NAME}", "-o", "json"))
    assert "PasswordRotation" in {e["reason"] for e in found["items"]}
    assert_nothing_lost(cluster, writer)
    done(f"{len(writer.acknowledged)} writes, none refused, all read back")


def test_every_pod_deleted_at_once_reforms_from_the_volumes_with_the_same_ids(
        cluster: RealCluster) -> None:
    done = phase_timer("all pods")
    ids = cluster.ids()
    uids = {name: pod["metadata"]["uid"] for name, pod in cluster.pods().items()}
    assert len(ids) == 6 and set(ids) == set(uids)
    writer = Writer(cluster, cluster.password(), "all").start()
    writer.wait_for(100)
    cluster.kubectl("delete", "pods", "-l", f"redslot.dev/cluster={NAME}", "--wait=false")
    done("6 pods deleted")

    def recreated() -> bool:
        pods = cluster.pods()
        return set(pods) == set(uids) and all(
            pod["metadata"]["uid"] != uids[name] for name, pod in pods.items())
    eventually(recreated, 120, "every pod recreated", 0.5)
    done("every pod recreated")
    cluster.wait_ready(3)
    done("cluster Ready again")
    writer.wait_for(len(writer.acknowledged) + 100, timeout=120)
    writer.stop()
    assert cluster.ids() == ids, "the cluster re-formed with the same node ids"
    # The recreated pods took their users' passwords from the Secrets.
    assert all(accepts(ip, app_password(cluster), "app") for ip in cluster.pod_ips())
    assert_nothing_lost(cluster, writer)
    done(f"{len(writer.acknowledged)} acknowledged writes and {BASELINE} keys read back "
         f"(writes refused for {writer.longest_refusal():.1f} s)")


def pods_are(cluster: RealCluster, count: int) -> bool:
    return len(cluster.pods()) == count


def kill_the_operator_mid_reshard(cluster: RealCluster) -> float:
    """SIGKILL the operator's process once the reshard moved slots, then force-delete its pod
    (no graceful exit, no goodbye to the peering); the seconds its successor took over."""
    operator = cluster.operator_pod()
    assert operator is not None
    pid = container_pid(cluster.node, operator)

    def moving() -> dict | None:
        reshard = cluster.status().get("reshard")
        return reshard if reshard and reshard["done"] > 0 else None
    eventually(moving, 300, "the reshard moving slots", 0.1)
    # Stopped first, so the status read next is what the killed operator left.
    kill(pid, signal.SIGSTOP)
    left = cluster.status().get("reshard")
    kill(pid, signal.SIGKILL)
    killed = time.time()
    cluster.kubectl("delete", "pod", operator["metadata"]["name"], "--grace-period=0",
                    "--force", check=False)
    assert left and 0 < left["done"] < left["total"], left

    def replaced() -> dict | None:
        pod = cluster.operator_pod()
        return pod if pod and pod["metadata"]["uid"] != operator["metadata"]["uid"] else None
    new = eventually(replaced, 120, "a new operator pod", 0.5)
    print(f"   [scale] operator killed with {left['done']}/{left['total']} slots moved",
          flush=True)

    def resumed() -> float | None:
        log = cluster.kubectl("logs", new["metadata"]["name"], check=False)
        started = [line for line in log.splitlines()
                   if f"control loop for {cluster.namespace}/{NAME} started" in line]
        if not started:
            return None
        stamp = datetime.datetime.strptime(started[0][:23], "%Y-%m-%d %H:%M:%S,%f")
        return stamp.replace(tzinfo=datetime.UTC).timestamp()
    took = eventually(resumed, 180, "the new operator's control loop", 1.0) - killed
    print(f"   [scale] the new operator pod took over {took:.1f} s after the kill", flush=True)
    # A killed peer stays alive in kopf's peering for its lifetime (the successor pauses
    # until then): 20 s, not kopf's 60, plus the new pod's start.
    assert took < 50, f"the new operator waited {took:.0f} s"
    return took


def test_scale_out_to_5_shards_and_back_to_3_with_the_operator_killed_mid_reshard(
        cluster: RealCluster) -> None:
    """Both reshards under a writer; the operator pod is killed in the middle of the
    second, and the new one finishes it (one test: each reshard is the slow part)."""
    done = phase_timer("scale")
    writer = Writer(cluster, cluster.password(), "scale").start()
    writer.wait_for(100)
    progress: list[int] = []
    totals: set[int] = set()
    for shards in (5, 3):
        cluster.patch({"shards": shards})
        if shards == 3:
            kill_the_operator_mid_reshard(cluster)
            done("operator killed mid-reshard, its successor running")

        def settled(shards: int = shards) -> dict | None:
            status = cluster.status()
            if status.get("reshard"):
                progress.append(status["reshard"]["done"])
                if shards == 5:  # a successor's plan after the kill counts what was left
                    totals.add(status["reshard"]["total"])
            return cluster.ready(shards)
        status = eventually(settled, 600, f"{shards} shards Ready", 0.3)
        counts = slot_counts(status)
        assert sum(counts) == 16384 and counts[-1] - counts[0] <= 1, counts
        eventually(partial(pods_are, cluster, 2 * shards), 120, f"{2 * shards} pods", 0.5)
        assert slot_marks(cluster, cluster.password()) == [], "a slot left MIGRATING/IMPORTING"
        done(f"{shards} shards Ready, slots balanced {counts}, no slot MIGRATING/IMPORTING")
    assert len(set(progress)) >= 2, "the status showed the reshard's progress"
    # Two of five shards' worth of slots move out to the new shards: the plan says so.
    assert totals and all(2 * (16384 // 5) <= t <= 2 * (16384 // 5 + 1) for t in totals), totals
    found = json.loads(cluster.kubectl("get", "events", "--field-selector",
                                       f"involvedObject.name={NAME}", "-o", "json"))
    assert "Reshard" in {e["reason"] for e in found["items"]}
    writer.wait_for(len(writer.acknowledged) + 100)
    writer.stop()
    assert_nothing_lost(cluster, writer)
    done(f"{len(writer.acknowledged)} acknowledged writes and {BASELINE} keys read back")


def test_a_rolling_image_change_restarts_replicas_first_and_hands_over_each_master(
        cluster: RealCluster) -> None:
    done = phase_timer("rolling")
    image = cluster.node.image
    rolled = f"{image}-rolled"
    if rolled not in cluster.node.ctr("images", "ls", "-q"):
        cluster.node.ctr("images", "tag", image, rolled)
    pods = cluster.pods()
    masters = {s["master"] for s in cluster.status()["shards"]}
    writer = Writer(cluster, cluster.password(), "roll").start()
    writer.wait_for(100)
    cluster.patch({"image": rolled.removeprefix("docker.io/library/")})

    def rolled_everywhere() -> bool:
        now = cluster.pods()
        return set(now) == set(pods) and all(
            now[name]["metadata"]["uid"] != pods[name]["metadata"]["uid"]
            and now[name]["spec"]["containers"][0]["image"].endswith(rolled.split("/")[-1])
            for name in pods)
    eventually(rolled_everywhere, 400, "every pod restarted with the new image", 1.0)
    done("every pod restarted with the new image")
    status = cluster.wait_ready(3)
    writer.wait_for(len(writer.acknowledged) + 100)
    writer.stop()
    done("cluster Ready")
    assert not masters & {s["master"] for s in status["shards"]}, "each master handed over"
    restarts = [m for m in cluster.events() if m.startswith("rolling restart: restarting")]
    assert len(restarts) >= 6, restarts
    assert all("replica" in m for m in restarts[:3]), restarts
    # The client's own cost of a restart is left out: redis-py's topology refresh tries
    # the old addresses of restarted pods, a connect timeout each.
    refused, gap = writer.longest_refusal(), writer.longest_gap_of_the_cluster()
    print(f"   [rolling] longest window of refused writes: {refused:.2f} s; longest time "
          f"without an acknowledged write, less connects to dead addresses: {gap:.2f} s\n"
          f"   [rolling] {writer.longest_gap_story()}", flush=True)
    assert refused < 5.0 and gap < 6.0, (writer.longest_gap_story(), cluster.events()[-20:])
    assert_nothing_lost(cluster, writer)
    done(f"{len(writer.acknowledged)} acknowledged writes and {BASELINE} keys read back")


def master_keys(cluster: RealCluster) -> dict[str, str]:
    """One key on each master, by the master's pod IP."""
    client = cluster.client()
    keys: dict[str, str] = {}
    masters = {node.host for node in client.get_primaries()}
    for i in range(10_000):
        keys.setdefault(client.get_node_from_key(f"probe:{i}").host, f"probe:{i}")
        if set(keys) == masters:
            break
    client.close()
    assert set(keys) == masters, (keys, masters)
    return keys


def refuses(ip: str, key: str, password: str) -> bool:
    """Whether the master answers a write of its own key with CLUSTERDOWN (fenced)."""
    node = redis.Redis(host=ip, port=PORT, password=password, socket_timeout=5,
                       retry=Retry(NoBackoff(), 0))
    try:
        node.set(key, "probe")
        return False
    except redis.ResponseError as error:
        assert "CLUSTERDOWN" in str(error).upper() or "cluster is down" in str(error), error
        return True
    finally:
        node.close()


def test_the_operator_frozen_for_two_leases_fences_the_masters_then_they_serve_again(
        cluster: RealCluster) -> None:
    """The operator's process SIGSTOPped (from the host: its container's host pid) for two
    lease lengths. Nothing renews the masters' leases, so each refuses its slots with
    CLUSTERDOWN before it could be replaced; once the operator runs again, its renewals
    resume and the same masters serve, with no failover: they never stopped answering."""
    lease = 3.0  # spec.downAfterMilliseconds' default, the lease length
    done = phase_timer("frozen operator")
    password = cluster.password()
    status = cluster.status()
    masters = {s["name"]: s["master"] for s in status["shards"]}
    failovers = status["failovers"]
    keys = master_keys(cluster)
    operator = cluster.operator_pod()
    assert operator is not None
    pid = container_pid(cluster.node, operator)
    writer = Writer(cluster, password, "frozen").start()
    writer.wait_for(100)
    done(f"writer running, operator at host pid {pid}")
    kill(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        fenced: dict[str, float] = {}  # master -> seconds from the stop to its first refusal
        served_after: list[tuple[str, float]] = []  # a write taken once it had refused
        while time.monotonic() - stopped < 2 * lease:
            for ip, key in keys.items():
                refused, moment = refuses(ip, key, password), time.monotonic() - stopped
                if refused:
                    fenced.setdefault(ip, moment)
                elif ip in fenced:
                    served_after.append((ip, moment))
            time.sleep(0.05)
    finally:
        kill(pid, signal.SIGCONT)
    resumed = time.monotonic()
    done(f"operator stopped {resumed - stopped:.1f} s; masters fenced after "
         + ", ".join(f"{t:.2f}" for t in sorted(fenced.values())) + " s")
    assert set(fenced) == set(keys), f"a master kept serving without its lease: {fenced}"
    assert max(fenced.values()) <= lease * 1.01 + 1.0, fenced
    assert not served_after, f"a fenced master took writes with the operator stopped: {served_after}"

    def serving() -> bool:
        return not any(refuses(ip, key, password) for ip, key in keys.items())
    eventually(serving, 60, "every master serving again", 0.05)
    done(f"every master serving again {time.monotonic() - resumed:.2f} s after SIGCONT")
    acknowledged = len(writer.acknowledged)
    writer.wait_for(acknowledged + 100)
    writer.stop()
    status = cluster.wait_ready(3)
    done("RedisCluster Ready")
    assert status["failovers"] == failovers, cluster.events()[-10:]
    assert {s["name"]: s["master"] for s in status["shards"]} == masters
    assert_nothing_lost(cluster, writer)
    # The writer's client retries CLUSTERDOWN (redis-py's retry), so its writes waited.
    done(f"{len(writer.acknowledged)} acknowledged writes and {BASELINE} keys read back, no "
         f"failover (the writer's longest wait for an acknowledgement: "
         f"{writer.longest_gap():.1f} s, {len(writer.errors)} errors)")
