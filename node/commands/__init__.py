"""Command handlers, one module per data type or concern; importing registers them."""

from . import connection  # noqa: F401
from . import client, config  # noqa: F401
from . import command, info  # noqa: F401
from . import lcs, strings  # noqa: F401
from . import dump, keys, ttl  # noqa: F401
from . import debug, latency, memory, object, server, slowlog  # noqa: F401
