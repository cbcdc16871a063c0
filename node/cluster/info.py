"""CLUSTER INFO's text: the cluster state, slot counts, epochs and message statistics.

Served by CLUSTER INFO and read by the metrics exporter, so it lives with the state.
"""

from __future__ import annotations

from .state import ClusterState

MESSAGE_TYPES = ("ping", "pong", "meet", "fail", "publish", "publishshard", "auth-req",
                 "auth-ack", "update", "mfstart", "module")


def info_text(state: ClusterState) -> str:
    assigned = ok = pfail = fail = 0
    size = 0
    for node in state.nodes.values():
        n = len(node.slots)
        if not n:
            continue
        assigned += n
        if node.is_master:
            size += 1
        if "fail" in node.flags:
            fail += n
        elif "fail?" in node.flags:
            pfail += n
        else:
            ok += n
    lines = [
        f"cluster_state:{'ok' if state.state_ok and state.lease.valid() else 'fail'}",
        f"cluster_slots_assigned:{assigned}",
        f"cluster_slots_ok:{ok}",
        f"cluster_slots_pfail:{pfail}",
        f"cluster_slots_fail:{fail}",
        f"cluster_known_nodes:{len(state.nodes)}",
        f"cluster_size:{size}",
        f"cluster_current_epoch:{state.current_epoch}",
        f"cluster_my_epoch:{state.node_epoch(state.myself)}",
    ]
    for direction, stats in (("sent", state.stats_sent), ("received", state.stats_received)):
        for kind in MESSAGE_TYPES:
            if stats.get(kind):
                lines.append(f"cluster_stats_messages_{kind}_{direction}:{stats[kind]}")
        lines.append(f"cluster_stats_messages_{direction}:{sum(stats.values())}")
    lines.append("total_cluster_links_buffer_limit_exceeded:0")
    # redslot's own, after Redis's fields: what the control plane reads back.
    lines.append(f"redslot_topology_epoch:{state.topology_epoch}")
    lines.append(f"redslot_held:{int(state.held)}")
    return "\r\n".join(lines) + "\r\n"
