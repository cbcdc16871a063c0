"""Command handlers, one module per data type or concern; importing registers them."""

from . import (  # noqa: F401
    client,
    command,
    config,
    connection,
    debug,
    dump,
    hashes,
    info,
    keys,
    latency,
    lcs,
    lists,
    memory,
    multi,
    object,
    server,
    sets,
    slowlog,
    strings,
    ttl,
)
