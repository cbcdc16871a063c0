"""Connections that are the cluster's own machinery, not its clients.

Redis nodes talk over a binary bus that is no command stream, so their PINGs and table
updates never show in INFO's instantaneous_ops_per_sec; redslot's peer links and control
plane send ordinary commands instead. They name their connections (CLIENT SETNAME, as
Sentinel names its own), and a node leaves those connections' commands out of
instantaneous_ops_per_sec: an idle node shows what its clients do, not its own upkeep.
The commands still count in total_commands_processed and commandstats, which say what
the node processed. A replica's link is a client as in Redis: its REPLCONF ACKs count.
"""

from __future__ import annotations

PEER_NAME = "redslot-peer"  # links.py: another node of the cluster
CONTROL_NAME = "redslot-control"  # the control plane's observation and actions

INTERNAL_NAMES = frozenset({PEER_NAME, CONTROL_NAME})
