"""ACL users and passwords from Secrets, kept on the nodes and rotated with no downtime.

The operator's own Secret ``<cluster>-credentials`` holds what the nodes have: the ACL
file they load at start (``users.acl``: every user with the SHA-256 of each password
valid now), ``masterauth`` (the default user's password that replication, peer links
and the control plane use, always one every node accepts) and the rotation's progress
(``state.json``), so an operator restarted mid-rotation resumes it.

A changed password Secret is rolled in three moves, each only once every node has the
previous one (a node applies a change with ``ACL SETUSER``; a restarted node has it from
its ACL file):

1. Adding: the new password is added beside the old one on every node;
2. Overlap: both work everywhere; for the default user masterauth and the control plane
   switch to the new one; clients switch (status.credentials says the phase);
3. after ``spec.auth.rotationGraceSeconds`` the old password is removed.

Secrets are read when the kopf handler on Secrets says one the cluster names changed,
and every ``RESYNC_SECONDS`` anyway (see there why so rarely).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..actions.connection import NodeError
from ..model.context import Context
from .api import KubeApi
from .objects import Cluster, credentials_secret
from .store import iso

log = logging.getLogger("redslot.k8s")

DEFAULT = "default"
DEFAULT_RULES = ("~*", "&*", "+@all")
# The re-read without an event, as often as the drift check (fleet.REAPPLY_SECONDS). kopf's
# Secret watch loses no change: it resumes from its last resourceVersion across the API
# server's disconnects, and after 410 Gone it lists again and hands every Secret to the
# handler (which wakes the clusters naming it). So this re-read only bounds a failure of the
# watch itself (at 30 s it cost two GETs a minute per Secret, most of an idle
# cluster's API requests).
RESYNC_SECONDS = 300.0

Watchers = dict[tuple[str, str], set[Callable[[], None]]]


def watch(watchers: Watchers, namespace: str, names: Iterable[str],
          wake: Callable[[], None]) -> None:
    """Have the Secret handler call ``wake`` when one of these Secrets changes (and no
    longer for the ones it watched before)."""
    for callbacks in watchers.values():
        callbacks.discard(wake)
    for name in names:
        watchers.setdefault((namespace, name), set()).add(wake)


def password_hash(password: str) -> str:
    """What ACL SETUSER's ``#`` takes and ACL GETUSER shows: SHA-256 in hex."""
    return hashlib.sha256(password.encode()).hexdigest()


@dataclass
class UserState:
    """One user as the nodes have it: its password hashes, oldest first (the last is the
    Secret's), and when the old ones stop (0: not yet decided)."""

    hashes: list[str]
    version: str = ""
    until: float = 0.0

    @property
    def phase(self) -> str:
        if len(self.hashes) == 1:
            return "Current"
        return "Overlap" if self.until else "Adding"


@dataclass
class Desired:
    """What the Secrets say now: each user's password (kept in memory only) and version."""

    passwords: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def secret_value(secret: Mapping[str, Any], key: str) -> str | None:
    data = secret.get("data") or {}
    if key in data:
        return base64.b64decode(data[key]).decode()
    string_data = secret.get("stringData") or {}
    return str(string_data[key]) if key in string_data else None


class Credentials:
    def __init__(self, api: KubeApi, cluster: Cluster, watchers: Watchers | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.cluster = cluster
        self.watchers = watchers if watchers is not None else {}
        self.clock = clock
        self.users: dict[str, UserState] = {}
        self.masterauth = ""
        self.applied: dict[str, tuple[str, str]] = {}  # node name -> (run id, digest)
        self.changed = asyncio.Event()
        self.read_at = 0.0
        self.desired = Desired()
        self.status: list[dict[str, Any]] = []

    # --- the Secrets ---

    async def start(self, password: str) -> str:
        """Load the operator's Secret, or make it from the default user's ``password``
        before any pod needs it. Returns the password the control plane uses."""
        found = await self.api.get("v1", "Secret", self.cluster.namespace,
                                   self.cluster.credentials)
        if found is not None:
            state = json.loads(secret_value(found, "state.json") or "{}")
            self.masterauth = secret_value(found, "masterauth") or password
            self.users = {name: UserState(list(u["hashes"]), u.get("version", ""),
                                          float(u.get("until", 0.0)))
                          for name, u in (state.get("users") or {}).items()}
        if DEFAULT not in self.users:
            self.masterauth = self.masterauth or password
            self.users[DEFAULT] = UserState([password_hash(self.masterauth)])
        await self.save()
        self.watch()
        return self.masterauth

    def watch(self) -> None:
        names = {self.cluster.secret, *(user.secret for user in self.cluster.spec.users)}
        watch(self.watchers, self.cluster.namespace, names, self.changed.set)

    def forget(self) -> None:
        watch(self.watchers, self.cluster.namespace, (), self.changed.set)

    def acl_file(self) -> str:
        return "".join(" ".join(["user", *line]) + "\n" for line in self.user_lines())

    def user_lines(self) -> list[list[str]]:
        """Each user's ACL SETUSER arguments after its name."""
        lines = []
        spec_users = {user.name: user for user in self.cluster.spec.users}
        for name, state in self.users.items():
            if name == DEFAULT:
                flags, rules = ["on"], list(DEFAULT_RULES)
            elif name in spec_users:
                user = spec_users[name]
                flags, rules = ["on" if user.enabled else "off"], list(user.rules)
            else:
                continue
            lines.append([name, *flags, *(f"#{h}" for h in state.hashes), *rules])
        return lines

    async def save(self) -> None:
        state = {"users": {name: {"hashes": u.hashes, "version": u.version, "until": u.until}
                           for name, u in self.users.items()}}
        obj = credentials_secret(self.cluster, {
            "users.acl": self.acl_file(), "masterauth": self.masterauth,
            "state.json": json.dumps(state, sort_keys=True)})
        await self.api.apply(obj)

    async def read(self) -> Desired:
        """Each user's password as its Secret says now (a missing Secret keeps the user
        as the nodes have it, with a warning)."""
        desired = Desired()
        cluster = self.cluster
        wanted = [(DEFAULT, cluster.secret, cluster.spec.auth_key)]
        wanted += [(u.name, u.secret, u.key) for u in cluster.spec.users]
        for name, secret_name, key in wanted:
            secret = await self.api.get("v1", "Secret", cluster.namespace, secret_name)
            value = None if secret is None else secret_value(secret, key)
            if secret is None or value is None:
                log.warning("%s/%s: user %s: Secret %s has no key %s", cluster.namespace,
                            cluster.name, name, secret_name, key)
                continue
            desired.passwords[name] = value
            desired.versions[name] = str(secret["metadata"].get("resourceVersion", ""))
        return desired

    # --- each pass ---

    async def sync(self, ctx: Context) -> None:
        """Read the Secrets when due, move each rotation on, apply to the nodes."""
        now = self.clock()
        if self.changed.is_set() or now - self.read_at >= RESYNC_SECONDS:
            self.changed.clear()
            self.read_at = now
            self.watch()
            self.desired = await self.read()
            if self.take(self.desired, ctx):
                await self.save()
        await self.apply(ctx)
        if await self.advance(ctx):
            await self.save()
            await self.apply(ctx)
        self.status = [{"user": name, "phase": u.phase, "secretResourceVersion": u.version,
                        **({"oldPasswordExpires": iso(u.until)} if u.until else {})}
                       for name, u in self.users.items()]

    def take(self, desired: Desired, ctx: Context) -> bool:
        """New users, changed passwords and removed users into the state: True if changed."""
        changed = False
        for name, password in desired.passwords.items():
            wanted = password_hash(password)
            state = self.users.get(name)
            if state is None:
                self.users[name] = UserState([wanted], desired.versions[name])
                changed = True
            elif state.hashes[-1] != wanted:
                state.hashes = [h for h in state.hashes if h != wanted] + [wanted]
                state.version, state.until = desired.versions[name], 0.0
                ctx.event(f"password of user {name} changed: adding the new one to every "
                          f"node beside the old one")
                changed = True
        names = {DEFAULT, *(u.name for u in self.cluster.spec.users)}
        for name in [n for n in self.users if n not in names]:
            del self.users[name]
            changed = True
        return changed

    def digest(self) -> str:
        content = json.dumps([self.user_lines(), self.masterauth])
        return hashlib.sha256(content.encode()).hexdigest()[:20]

    def everywhere(self, ctx: Context) -> bool:
        """Every node of the record has the current state (in this process run)."""
        digest = self.digest()
        return all(self.applied.get(name) == (ctx.views[name].run_id, digest)
                   for name in ctx.record.nodes if name in ctx.views)

    async def apply(self, ctx: Context) -> None:
        digest = self.digest()
        lines = self.user_lines()
        names = {line[0] for line in lines}
        for name, view in ctx.views.items():
            if not view.reachable or self.applied.get(name) == (view.run_id, digest):
                continue
            try:
                for line in lines:
                    await ctx.conns.call(view.address, "ACL", "SETUSER", line[0], "reset",
                                         *line[1:])
                present = await ctx.conns.call(view.address, "ACL", "USERS")
                extra = [u for u in present if u.decode() not in names]
                if extra:
                    await ctx.conns.call(view.address, "ACL", "DELUSER", *extra)
                await ctx.conns.call(view.address, "CONFIG", "SET", "masterauth",
                                     self.masterauth)
            except NodeError as error:
                log.warning("%s: applying the ACL users: %s", name, error)
                continue
            self.applied[name] = (view.run_id, digest)

    async def advance(self, ctx: Context) -> bool:
        """A rotation's next move once every node has the current state: True if changed."""
        if not any(len(u.hashes) > 1 for u in self.users.values()) or not self.everywhere(ctx):
            return False
        now = self.clock()
        changed = False
        grace = self.cluster.spec.rotation_grace_seconds
        for name, state in self.users.items():
            if len(state.hashes) == 1:
                continue
            if not state.until:
                if name == DEFAULT:
                    if DEFAULT not in self.desired.passwords:
                        continue  # its Secret is unreadable now: wait
                    await self.switch(ctx, self.desired.passwords[DEFAULT])
                state.until = now + grace
                ctx.event(f"password of user {name}: every node accepts the new one; the "
                          f"old one is removed at {iso(state.until)}")
                changed = True
            elif now >= state.until:
                state.hashes, state.until = state.hashes[-1:], 0.0
                ctx.event(f"password of user {name}: the old one is removed")
                changed = True
        return changed

    async def switch(self, ctx: Context, password: str) -> None:
        """masterauth and the control plane's connections to the new default password
        (the Secret first: a pod started from now on gets it)."""
        self.masterauth = password
        await self.save()
        await ctx.conns.use_password(password)
        await ctx.slow.use_password(password)

