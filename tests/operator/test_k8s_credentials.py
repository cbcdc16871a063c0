"""Users and password rotation (operator/k8s/credentials.py), step by step: Secrets in an
in-memory API, nodes as recorded RESP calls. The real thing (API server, nodes, a client
writing through a rotation) is e2e/test_operator.py's."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from typing import Any

from redslot.operator.actions.observe import NodeView
from redslot.operator.k8s.credentials import Credentials, password_hash
from redslot.operator.k8s.objects import Cluster
from redslot.operator.k8s.settings import parse_spec
from redslot.operator.model.context import Context
from redslot.operator.model.record import NodeRecord, Record, Spec

NODES = {"shard-0-0": "10.0.0.1:6379", "shard-0-1": "10.0.0.2:6379"}


class MemoryApi:
    """get and apply, the two calls Credentials makes."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.version = 0

    def put_secret(self, name: str, **data: str) -> None:
        self.version += 1
        self.objects[name] = {"metadata": {"name": name, "resourceVersion": str(self.version)},
                              "data": {k: base64.b64encode(v.encode()).decode()
                                       for k, v in data.items()}}

    async def get(self, api_version: str, kind: str, namespace: str | None,
                  name: str) -> dict[str, Any] | None:
        found = self.objects.get(name)
        return copy.deepcopy(found) if found is not None else None

    async def apply(self, obj: dict[str, Any]) -> str:
        self.put_secret(obj["metadata"]["name"], **obj["stringData"])
        return "updated"


class Nodes:
    """The connections: every call recorded; ``down`` nodes fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.password = "one"
        self.down: set[str] = set()

    async def call(self, address: str, *args: Any) -> Any:
        if address in self.down:
            raise ConnectionError(address)
        self.calls.append((address, args))
        return [b"default", b"app", b"stale"] if args == ("ACL", "USERS") else b"OK"

    async def use_password(self, password: str | None) -> None:
        self.password = password or ""

    def setusers(self, address: str, name: str) -> list[tuple[Any, ...]]:
        return [a for addr, a in self.calls
                if addr == address and a[:3] == ("ACL", "SETUSER", name)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(api: MemoryApi, clock: Clock) -> tuple[Credentials, Context, Nodes, list[str]]:
    cluster = Cluster("cache", "prod", "uid", parse_spec({
        "shards": 1, "auth": {"rotationGraceSeconds": 10},
        "users": [{"name": "app", "rules": ["~app:*", "+@read"],
                   "passwordSecret": {"name": "app-secret"}}]}, "img"))
    credentials = Credentials(api, cluster, {}, clock=clock)  # type: ignore[arg-type]
    nodes = Nodes()
    events: list[str] = []
    record = Record(nodes={name: NodeRecord(name, address) for name, address in NODES.items()})
    views = {name: NodeView(address, True, run_id="run-" + name)
             for name, address in NODES.items()}

    async def push(_: Any) -> None:
        return None

    ctx = Context(Spec(1, 1), record, views, nodes, nodes, frozenset(),  # type: ignore[arg-type]
                  lambda: None, events.append, push)
    return credentials, ctx, nodes, events


def stored_state(api: MemoryApi) -> dict[str, Any]:
    data = api.objects["cache-credentials"]["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def phases(credentials: Credentials) -> dict[str, str]:
    return {entry["user"]: entry["phase"] for entry in credentials.status}


def test_a_rotation_adds_switches_then_removes_and_survives_an_operator_restart() -> None:
    asyncio.run(rotation())


async def rotation() -> None:
    api, clock = MemoryApi(), Clock()
    api.put_secret("cache-auth", password="one")
    api.put_secret("app-secret", password="app-one")
    credentials, ctx, nodes, events = make(api, clock)
    assert await credentials.start("one") == "one"
    await credentials.sync(ctx)
    assert phases(credentials) == {"default": "Current", "app": "Current"}
    state = stored_state(api)
    assert state["masterauth"] == "one"
    assert state["users.acl"] == (
        f"user default on #{password_hash('one')} ~* &* +@all\n"
        f"user app on #{password_hash('app-one')} ~app:* +@read\n")
    for address in NODES.values():
        assert nodes.setusers(address, "app") == [
            ("ACL", "SETUSER", "app", "reset", "on", f"#{password_hash('app-one')}",
             "~app:*", "+@read")]
        assert (address, ("ACL", "DELUSER", b"stale")) in nodes.calls
        assert (address, ("CONFIG", "SET", "masterauth", "one")) in nodes.calls

    # The Secret changes while a node is down: the new password is added, nothing more.
    api.put_secret("cache-auth", password="two")
    credentials.changed.set()
    nodes.down = {NODES["shard-0-1"]}
    await credentials.sync(ctx)
    assert phases(credentials)["default"] == "Adding"
    assert nodes.password == "one" and stored_state(api)["masterauth"] == "one"
    both = (f"#{password_hash('one')}", f"#{password_hash('two')}")
    assert nodes.setusers(NODES["shard-0-0"], "default")[-1][5:7] == both
    assert f"#{password_hash('two')}" in stored_state(api)["users.acl"]  # for pods starting
    assert any("password of user default changed" in e for e in events)

    # The node is back: every node has both; masterauth and the control plane switch.
    nodes.down = set()
    await credentials.sync(ctx)
    assert phases(credentials)["default"] == "Overlap"
    assert nodes.password == "two" and stored_state(api)["masterauth"] == "two"
    assert (NODES["shard-0-1"], ("CONFIG", "SET", "masterauth", "two")) in nodes.calls
    assert credentials.status[0]["oldPasswordExpires"]

    # An operator restarted now resumes the overlap from its Secret.
    again, ctx2, nodes2, _ = make(api, clock)
    assert await again.start("ignored") == "two"
    await again.sync(ctx2)
    assert phases(again)["default"] == "Overlap"

    # After the grace the old password goes, from the nodes and from the ACL file.
    clock.now += 11
    await again.sync(ctx2)
    assert phases(again) == {"default": "Current", "app": "Current"}
    assert nodes2.setusers(NODES["shard-0-0"], "default")[-1][5:] == (
        f"#{password_hash('two')}", "~*", "&*", "+@all")
    assert password_hash("one") not in stored_state(api)["users.acl"]
    assert json.loads(stored_state(api)["state.json"])["users"]["default"]["until"] == 0.0


def test_a_node_that_restarted_gets_the_users_again_and_a_removed_user_goes() -> None:
    asyncio.run(restart_and_removal())


async def restart_and_removal() -> None:
    api, clock = MemoryApi(), Clock()
    api.put_secret("cache-auth", password="one")
    api.put_secret("app-secret", password="app-one")
    credentials, ctx, nodes, _ = make(api, clock)
    await credentials.start("one")
    await credentials.sync(ctx)
    calls = len(nodes.calls)
    await credentials.sync(ctx)
    assert len(nodes.calls) == calls  # applied once per node process
    ctx.views["shard-0-0"].run_id = "run-again"
    await credentials.sync(ctx)
    assert {addr for addr, _ in nodes.calls[calls:]} == {NODES["shard-0-0"]}
    credentials.cluster.spec.users = []
    credentials.changed.set()
    await credentials.sync(ctx)
    assert "app" not in stored_state(api)["users.acl"]
    for address in NODES.values():  # a user gone from the spec is deleted on every node
        assert (address, ("ACL", "DELUSER", b"app", b"stale")) in nodes.calls
