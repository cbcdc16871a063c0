"""redslot.node: a Redis-compatible RESP server, one process per pod."""

from .base.compiled import prefer_source

REDIS_VERSION = "7.2.4"

prefer_source()  # before any compiled module loads: REDSLOT_PURE_PYTHON=1 runs their source
