"""LOLWUT [VERSION <n>] (lolwut.c): the version line Redis shows when it has no artwork
for a version. Redis draws random art for VERSION 5 and 6; redslot shows the line for
every version (art is not part of any contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol.reply import Verbatim
from ..table.command import command
from .args import to_int

if TYPE_CHECKING:
    from .context import Client


@command("lolwut")
def lolwut(c: Client, argv: list[bytes]) -> Any:
    if len(argv) >= 3 and argv[1].lower() == b"version":
        to_int(argv[2])  # getLongFromObjectOrReply: the same error for a bad number
    return Verbatim(f"Redis ver. {c.server.version}\n")
