"""The value types: one module per type (hashes, lists, sets, sorted sets), listpack, the
RDB codecs, what each costs in memory (``footprint``), what introspection tells of it
(``typeinfo``), and the registry of type names (``registry``).

Values know nothing of keys or databases. May import ``config``, ``protocol`` and ``base``.
"""

from . import catalog  # noqa: E402, F401  (registers every type's record on first use)
