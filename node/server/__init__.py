"""The top layer: the server (``server``), a client connection (``client``), dispatch
(command checks in server.c's order, the fast loop, EXEC's calls; ``dispatch``) and the
process entry point (``main``).

May import every other layer. The layers below type against Protocols that these classes
match; ``Server.new_client`` is where mypy checks it.
"""
