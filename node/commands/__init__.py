"""Command handlers, one module per data type or concern; importing registers them, and
``build_table`` joins them with the command facts.

Handlers type the client and server against the Protocols in ``context`` (the real
classes are in ``server``, the layer above). May import every layer but ``server``.
"""

from ..table.command import Command, join_handlers
from . import (  # noqa: F401
    acl,
    aof,
    bitfield,
    bitmaps,
    blocking,
    client,
    cluster,
    cluster_admin,
    cluster_client,
    command,
    config,
    connection,
    debug,
    dump,
    functions,
    geo,
    geo_search,
    hashes,
    hyperloglog,
    info,
    keys,
    latency,
    lcs,
    lists,
    lolwut,
    memory,
    migrate,
    module,
    multi,
    object,
    persistence,
    pubsub,
    replication,
    scripting,
    server,
    sets,
    slowlog,
    sort,
    stream_groups,
    stream_info,
    stream_read,
    streams,
    strings,
    tracking,
    ttl,
    zset_algebra,
    zset_ranges,
    zsets,
)


def build_table() -> dict[str, Command]:
    """The command table: Redis 7.2's facts for every command, with the handlers the
    modules above registered."""
    return join_handlers()
