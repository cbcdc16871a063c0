"""What the node and the operator share: small pieces of neither, below both.

The operator may not import ``redslot.node`` and the node never imports the operator
(pyproject.toml's import contracts), so code both need lives here, and this package
imports neither.
"""
