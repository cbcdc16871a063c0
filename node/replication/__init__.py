"""Replication: the master side (PSYNC, the replicas, WAIT, the backlog; ``master``),
the replica side (``replica_link``), and zero-loss acknowledgements (``ackgate``).

A sibling of ``cluster`` and ``persistence``; what it needs of them, of the server and of
a client is typed in ``context``. May import ``keyspace``, ``table`` and the layers below.
"""
