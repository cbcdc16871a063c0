"""What the node tells about itself: INFO, the slowlog, latency monitoring, instantaneous
rates, and the Prometheus metrics (served by the exporter child process).

Above cluster, replication and persistence, because INFO reads every one of them; below
the handlers (INFO, SLOWLOG and LATENCY are commands). The server and clients are typed
in ``context``. May import every layer but ``commands`` and ``server``.
"""
