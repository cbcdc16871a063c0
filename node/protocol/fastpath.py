"""The hiredis fast path: whole, canonical multibulk pipelines parsed in C by hiredis, for
a node without protocol/_resp.c (a pure-Python install, ``REDSLOT_PURE_PYTHON=1``): there
a GET at pipeline 16 costs the node 3.1 us of CPU with it, 5.4 us with the exact parser
alone (measured 2026-12-06).

hiredis parses a request in 0.3 us against 2.6 us in Python (measured), but it does not say
where a request ends and parses things Redis refuses (``+`` lines, nested arrays, nulls).
So hiredis takes a read only when it is plainly well formed: hiredis finds only whole
requests in it, and laying those requests out canonically (``*N``, then ``$len`` and the
bytes of every argument) lands on a ``*`` or ``$`` at every header and ends exactly at the
read's end. Any ``+``/``:`` line, nested array, null, RESP3 type or non-canonical length
breaks that walk, and the exact parser (request.py) takes the read from its start.

One thing must never reach hiredis: a large aggregate header. hiredis builds the list for
``*N`` (and RESP3's ``~N >N |N``) as soon as it reads the header, so ``*2147483647`` makes
a 16 GB list (3 s of the whole node's time to build and free), ``>2147483647`` takes a
minute and ``*4294967295`` raises MemoryError, where Redis allocates lazily. A read holding
such a header anywhere (five digits or more) goes to the exact parser, which is lazy as
Redis is. The check is a regex for ``*``, whose literal prefix makes it fast, and the slower
one for the RESP3 markers only when memchr finds one of them: 0.2 us of CPU for a read of
one SET (0.6 us to parse) and 0.9 us for 16 of them (6 us), bench/parser_speed.py.
"""

from __future__ import annotations

import re

import hiredis

_LARGE_ARRAY = re.compile(rb"\*[0-9]{5}")
_LARGE_RESP3_AGGREGATE = re.compile(rb"[~>|][0-9]{5}")
_FAST_ARG_MAX = 16384
# Canonical encoded size of a multibulk header and of one bulk argument, by length.
_MULTIBULK_SIZE = [len(b"*%d\r\n" % n) for n in range(10000)]
_ARG_SIZE = [len(b"$%d\r\n" % n) + n + 2 for n in range(_FAST_ARG_MAX)]


def parse_whole(reader: hiredis.Reader, data: bytes) -> list[list[bytes]] | None:
    """All requests of ``data`` if it holds only whole, canonical multibulks; else None.

    Walking the canonical offsets checks that every request starts with ``*`` and every
    argument with ``$`` at exactly the size hiredis found, so nothing else can pass.
    ``reader`` must be empty; it is empty again on success and must be dropped on None.
    """
    if _LARGE_ARRAY.search(data) is not None or (
            (126 in data or 62 in data or 124 in data)  # '~' '>' '|', by memchr
            and _LARGE_RESP3_AGGREGATE.search(data) is not None):
        return None
    reader.feed(data)
    commands = []
    pos = 0
    try:
        while (request := reader.gets()) is not False:
            if request is None or data[pos] != 42:
                return None
            pos += _MULTIBULK_SIZE[len(request)]
            for arg in request:
                if data[pos] != 36:
                    return None
                pos += _ARG_SIZE[len(arg)]
            if request:
                commands.append(request)
    except (hiredis.ProtocolError, TypeError, IndexError):
        return None
    if pos != len(data) or reader.has_data():
        return None
    return commands
