"""Persistence: RDB snapshot files (``rdbfile``), save points and BGSAVE (``snapshots``),
and the append-only file (``aof``).

A sibling of ``cluster`` and ``replication``; what it needs of replication, of the server
and of a client is typed in ``context``. AOF loading runs commands through the server's
``execute``: it cannot import dispatch. May import ``keyspace``, ``table`` and below.
"""
