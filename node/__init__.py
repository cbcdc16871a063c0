"""redslot.node: a Redis-compatible RESP server, one process per pod."""

REDIS_VERSION = "7.2.4"
