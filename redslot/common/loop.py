"""The event loop a redslot process runs on: uvloop when it is installed.

An idle node or control plane spends most of its CPU waking up (peer pings, observations,
lease renewals, spec checks), which uvloop makes cheaper. uvloop is imported only here,
when the loop starts: after the command line installed its signal handlers (see
redslot.node.server.starting), since the import takes seconds on a loaded machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` to its end on uvloop, or on asyncio's own loop without it."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)
