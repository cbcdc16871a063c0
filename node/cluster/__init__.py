"""Cluster mode: the versioned topology table and this node's place in it (``state``),
nodes.conf, routing (MOVED/ASK/CROSSSLOT), CLUSTER INFO's text, the links to other nodes,
manual failover, and MIGRATE's cached connections.

A sibling of ``replication`` and ``persistence`` (none imports another). What it needs of
the server and a client is typed in ``context``. May import ``keyspace``, ``table`` and
the layers below them.
"""
