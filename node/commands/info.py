"""INFO [section ...]: the server's state as Redis-formatted text (built in node/info.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..observability.info import info_text
from ..protocol.reply import Verbatim
from ..table.command import command

if TYPE_CHECKING:
    from .context import Client


@command("info")
def info(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(info_text(c.server, argv[1:]))
