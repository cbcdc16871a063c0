"""ASKING, READONLY and READWRITE: a cluster client's per-connection routing flags.

ASKING lets the next command (or the next transaction) run on a slot this node is
importing; READONLY lets a replica serve reads of its master's slots. routing.py reads
both flags and clears ASKING after the command it covers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK
from ..table.command import command

if TYPE_CHECKING:
    from .context import Client


def _require_cluster(c: Client) -> None:
    if c.server.cluster is None:
        raise CommandError(errors.CLUSTER_DISABLED)


@command("asking")
def asking(c: Client, argv: list[bytes]) -> Any:
    _require_cluster(c)
    c.asking = True
    return OK


@command("readonly")
def readonly(c: Client, argv: list[bytes]) -> Any:
    _require_cluster(c)
    c.readonly = True
    return OK


@command("readwrite")
def readwrite(c: Client, argv: list[bytes]) -> Any:
    _require_cluster(c)
    c.readonly = False
    return OK
