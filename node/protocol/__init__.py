"""RESP on the wire: request parsing (``request``) and reply encoding (``reply``).

The one place that knows the byte format clients and replicas speak, including the command
encoder that propagation, cluster links and MIGRATE write with. May import ``base`` only.
"""
