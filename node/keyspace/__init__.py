"""The keyspace: databases and their entries, expiry, eviction, memory accounting, the
access clock (LRU/LFU), WATCH, clients blocked on keys, CLIENT PAUSE, hash slots, and the
stream of changes propagated to replicas and the AOF.

A sibling of ``table`` (neither imports the other). What it needs of the server and of a
client is typed in ``context`` as Protocols. May import ``types``, ``config``,
``protocol`` and ``base``.
"""
