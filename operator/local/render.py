"""Rich renderings of the status document: the node table, reshard progress, events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .security import OPEN, Security


def human_bytes(count: int | None) -> str:
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}G"


def node_state(node: dict[str, Any]) -> Text:
    if not node["up"]:
        return Text("down", style="bold red")
    if node["held"]:
        return Text("held", style="yellow")
    if node["role"] == "replica":
        return Text("in sync" if node.get("in_sync") else "syncing",
                    style="green" if node.get("in_sync") else "yellow")
    return Text("up", style="green")


def lag(master: dict[str, Any], node: dict[str, Any]) -> str:
    """A replica's replication lag: bytes of the master's stream it has not applied yet."""
    if node["role"] == "master" or "offset" not in node or "offset" not in master:
        return ""
    return human_bytes(max(0, master["offset"] - node["offset"]))


NUMERIC = ("pid", "keys", "offset", "lag", "memory", "clients", "ops/s")


def nodes_table(status: dict[str, Any]) -> Table:
    table = Table(title=f"redslot cluster: {status['phase']} (epoch {status['epoch']})",
                  title_justify="left")
    for column in ("shard", "node", "role", "address", "pid", "state", "slots", "keys",
                   "offset", "lag", "memory", "clients", "ops/s"):
        table.add_column(column, justify="right" if column in NUMERIC else "left")
    for shard in status["shards"]:
        label = shard["name"] + (" (retiring)" if shard["retiring"] else "")
        for node in [shard["master"], *shard["replicas"]]:
            is_master = node["role"] == "master"
            table.add_row(
                label if is_master else "", node["name"], node["role"], node["address"],
                str(node["pid"] or "-"), node_state(node),
                (shard["slots"] or "-") if is_master else "",
                str(node.get("keys", "-")), str(node.get("offset", "-")),
                lag(shard["master"], node), human_bytes(node.get("used_memory")),
                str(node.get("clients", "-")), str(node.get("ops_per_sec", "-")))
    return table


def reshard_line(status: dict[str, Any]) -> Text | None:
    reshard = status.get("reshard")
    if not reshard:
        return None
    done, total = reshard["slots_done"], reshard["slots_total"]
    text = (f"resharding ({reshard['reason']}): {done}/{total} slots, "
            f"{reshard['keys_moved']} keys moved, {reshard['keys_per_second']} keys/s")
    if reshard.get("error"):
        text += f"  [retrying: {reshard['error']}]"
    return Text(text, style="cyan")


def status_view(status: dict[str, Any], events: int = 5) -> Group:
    parts: list[Any] = [nodes_table(status)]
    line = reshard_line(status)
    if line is not None:
        parts.append(line)
    for failover in status.get("failovers", [])[-3:]:
        parts.append(Text(f"failover {failover['shard']}: {failover['from']} -> "
                          f"{failover['to']} ({failover['reason']})", style="magenta"))
    for event in status.get("events", [])[-events:]:
        parts.append(Text(event, style="dim"))
    if status.get("error"):
        parts.append(Text(f"last pass failed: {status['error']}", style="red"))
    return Group(*parts)


def connect_hint(status: dict[str, Any], security: Security = OPEN,
                 directory: Path = Path(".")) -> str:
    """How to reach the cluster with redis-cli and redis-py, with the password read from
    its file (never echoed here) and the generated certificates."""
    first = status["shards"][0]["master"]
    host, port = first["address"].rsplit(":", 1)
    cli, py = [f"-c -h {host} -p {port}"], [f"host='{host}', port={port}"]
    if security.tls_dir is not None:
        tls = security.tls_dir
        cli.append(f"--tls --cacert {tls}/ca.crt --cert {tls}/client.crt --key {tls}/client.key")
        py.append(f"ssl=True, ssl_ca_certs='{tls}/ca.crt', ssl_certfile='{tls}/client.crt', "
                  f"ssl_keyfile='{tls}/client.key'")
    if security.password:
        cli.append(f'-a "$(cat {directory}/password)"')
        py.append(f"password=open('{directory}/password').read().strip()")
    return (f"Connect: redis-cli {' '.join(cli)}\n"
            f"         redis.cluster.RedisCluster({', '.join(py)})")
