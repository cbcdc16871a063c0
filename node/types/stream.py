"""The stream value (t_stream.c): entries in nodes shaped as Redis's listpacks.

Redis keeps a stream's entries in a radix tree of listpacks keyed by each listpack's
first ("master") ID. Approximate trimming (``MAXLEN ~``, ``MINID ~``) removes whole
listpacks only, so what it removes depends on where the nodes split; to answer as
redis-server does, a node here splits exactly where Redis's would: when its listpack, in
Redis's bytes (listpack.py), plus the new entry's raw field and value lengths reaches
``stream-node-max-bytes``, or its entries (deleted ones included) reach
``stream-node-max-entries``. The listpack's size is tracked by arithmetic, not built.

An ID is one int, ``ms << 64 | seq``, so IDs compare and bisect as ints. The nodes'
master IDs are a sorted list, so finding an ID is two bisections: O(log N). A deleted
entry stays in its node with the deleted flag (a tombstone) until the node goes, as in
Redis; an entry with its node's master fields keeps only its values.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from itertools import chain

from .listpack import entry_size
from .stream_groups import Group
from .typeinfo import jemalloc_size

MASK64 = (1 << 64) - 1
MAX_ID = (1 << 128) - 1
LISTPACK_MAX_SIZE = 1 << 30  # STREAM_LISTPACK_MAX_SIZE
LISTPACK_MAX_PREALLOC = 4096  # STREAM_LISTPACK_MAX_PRE_ALLOCATE
LP_EMPTY = 7  # a listpack's header and end byte
FLAG_DELETED = 1
FLAG_SAMEFIELDS = 2
ENTRIES_READ_INVALID = -1  # SCG_INVALID_ENTRIES_READ

Fields = tuple[bytes, ...]


def format_id(stream_id: int) -> bytes:
    return b"%d-%d" % (stream_id >> 64, stream_id & MASK64)


def int_size(v: int) -> int:
    """Bytes a listpack integer element takes, back-length included."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -(2**23) <= v < 2**23:
        return 5
    if -(2**31) <= v < 2**31:
        return 6
    return 10


def delta(a: int, b: int) -> int:
    """``a - b`` as Redis stores it: unsigned 64-bit subtraction read as int64."""
    d = (a - b) & MASK64
    return d - (1 << 64) if d >> 63 else d


class Ids:
    """A node's entry IDs as two arrays of 64-bit halves: 16 bytes an entry, where a list
    of 128-bit ints costs 56. Indexing gives the int form, so bisect works on it."""

    __slots__ = ("ms", "seq")

    def __init__(self) -> None:
        self.ms = array("Q")
        self.seq = array("Q")

    def __len__(self) -> int:
        return len(self.ms)

    def __getitem__(self, j: int) -> int:
        return self.ms[j] << 64 | self.seq[j]

    def __iter__(self) -> Iterator[int]:
        return (ms << 64 | seq for ms, seq in zip(self.ms, self.seq, strict=True))

    def append(self, stream_id: int) -> None:
        self.ms.append(stream_id >> 64)
        self.seq.append(stream_id & MASK64)

    def copy(self) -> Ids:
        twin = Ids()
        twin.ms, twin.seq = array("Q", self.ms), array("Q", self.seq)
        return twin


Entry = Fields | bytes
"""An entry's data: its values, the one value itself when the node has one field and the
entry shares it, or its fields and values interleaved."""


class StreamNode:
    """One listpack: its master ID and fields, and its entries in ID order.

    ``data[i]`` is the entry's values when ``flags[i]`` has FLAG_SAMEFIELDS (the value
    alone for a one-field node), else its fields and values interleaved. ``body`` is the
    listpack's bytes but for its header, end byte and the two counters, which change as
    entries are deleted. ``alloc`` is what Redis's allocator would hold for the listpack
    (MEMORY USAGE): a node XADD opens is preallocated, grows by reallocation element by
    element and is shrunk to fit when XADD closes it; a listpack that shrinks is
    reallocated to its size.
    """

    __slots__ = ("master", "mfields", "ids", "data", "flags", "live", "dead", "body", "alloc")

    def __init__(self, master: int, mfields: Fields) -> None:
        self.master = master
        self.mfields = mfields
        self.ids = Ids()
        self.data: list[Entry] = []
        self.flags = bytearray()
        self.live = 0
        self.dead = 0
        self.body = int_size(len(mfields)) + sum(map(entry_size, mfields)) + 2
        self.alloc = 0

    def realloc(self, old: int, new: int) -> None:
        """lpInsert's reallocation when the listpack goes from ``old`` to ``new`` bytes."""
        if new > old:
            if new > self.alloc:
                self.alloc = jemalloc_size(new)
        elif new < old:
            self.alloc = jemalloc_size(new)

    def exact_alloc(self) -> None:
        """A listpack allocated at its size (loaded, copied)."""
        self.alloc = jemalloc_size(self.lp_bytes())

    def shrink_to_fit(self) -> None:
        size = self.lp_bytes()
        if size < self.alloc:
            self.alloc = jemalloc_size(size)

    def open(self, prealloc: int) -> None:
        """lpNew with a preallocation, then the master entry appended element by element."""
        self.alloc = jemalloc_size(prealloc)
        size = LP_EMPTY
        for element in (2, 2, int_size(len(self.mfields)), *map(entry_size, self.mfields), 2):
            self.realloc(size, size + element)
            size += element

    def counters_changed(self, live: int, dead: int) -> None:
        """The two lpReplaceInteger calls (count first) that took the counters from
        ``live`` and ``dead`` to their current values."""
        rest = self.lp_bytes() - int_size(self.live) - int_size(self.dead)
        before = rest + int_size(live) + int_size(dead)
        middle = rest + int_size(self.live) + int_size(dead)
        self.realloc(before, middle)
        self.realloc(middle, self.lp_bytes())

    def lp_bytes(self) -> int:
        return 7 + int_size(self.live) + int_size(self.dead) + self.body

    def add(self, stream_id: int, data: Fields, flags: int, appending: bool = False) -> None:
        """Append an entry (its ``data`` already reduced to values when SAMEFIELDS);
        ``appending``: as XADD does, one listpack element at a time (for ``alloc``)."""
        master = self.master
        ms = int_size(delta(stream_id >> 64, master >> 64))
        seq = int_size(delta(stream_id & MASK64, master & MASK64))
        sizes = list(map(entry_size, data))
        if flags & FLAG_SAMEFIELDS:
            head: tuple[int, ...] = (2, ms, seq)
            tail = int_size(len(data) + 3)
        else:
            n = len(data) // 2
            head = (2, ms, seq, int_size(n))
            tail = int_size(2 * n + 4)
        added = sum(head) + sum(sizes) + tail
        if appending:
            size = self.lp_bytes()
            grown = size - int_size(self.live) + int_size(self.live + 1)
            if grown + added > self.alloc:  # else every step fits the allocation
                self.realloc(size, grown)
                size = grown
                for element in (*head, *sizes, tail):
                    self.realloc(size, size + element)
                    size += element
        self.body += added
        self.ids.append(stream_id)
        self.data.append(data[0] if flags & FLAG_SAMEFIELDS and len(data) == 1 else data)
        self.flags.append(flags)
        if flags & FLAG_DELETED:
            self.dead += 1
        else:
            self.live += 1

    def pairs(self, i: int) -> list[bytes]:
        """Entry ``i``'s fields and values, interleaved."""
        data = self.data[i]
        if isinstance(data, bytes):
            return [self.mfields[0], data]
        if not self.flags[i] & FLAG_SAMEFIELDS:
            return list(data)
        return list(chain.from_iterable(zip(self.mfields, data, strict=True)))

    def values(self, i: int) -> Fields:
        """Entry ``i``'s stored elements: values (SAMEFIELDS), or fields and values."""
        data = self.data[i]
        return (data,) if isinstance(data, bytes) else data

    def kill(self, i: int) -> None:
        self.flags[i] |= FLAG_DELETED
        self.live -= 1
        self.dead += 1

    def last_id(self) -> int:
        """lpGetEdgeStreamID(last): the last entry, a tombstone or not."""
        return self.ids[-1]


class Stream:
    __slots__ = ("nodes", "starts", "length", "last_id", "first_id", "max_deleted",
                 "entries_added", "groups")

    def __init__(self) -> None:
        self.nodes: list[StreamNode] = []
        self.starts: list[int] = []  # the nodes' master IDs (the radix tree's keys)
        self.length = 0
        self.last_id = 0
        self.first_id = 0
        self.max_deleted = 0
        self.entries_added = 0
        self.groups: dict[bytes, Group] | None = None

    # --- adding ---

    def append(self, stream_id: int, pairs: list[bytes], max_entries: int,
               max_bytes: int) -> None:
        """streamAppendItem for an ID known to be greater than ``last_id``."""
        fields = tuple(pairs[0::2])
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if (node.lp_bytes() + sum(map(len, pairs)) >= limit
                    or (max_entries and node.live + node.dead >= max_entries)):
                node = None
        if node is None:
            if self.nodes:
                self.nodes[-1].shrink_to_fit()
            node = StreamNode(stream_id, fields)
            node.open(max_bytes if 0 < max_bytes < LISTPACK_MAX_PREALLOC
                      else LISTPACK_MAX_PREALLOC)
            self.nodes.append(node)
            self.starts.append(stream_id)
            same = True
        else:
            same = fields == node.mfields
        if same:
            node.add(stream_id, tuple(pairs[1::2]), FLAG_SAMEFIELDS, appending=True)
        else:
            node.add(stream_id, tuple(pairs), 0, appending=True)
        self.length += 1
        self.entries_added += 1
        self.last_id = stream_id
        if self.length == 1:
            self.first_id = stream_id

    # --- reading ---

    def _node_at(self, stream_id: int) -> int:
        """raxSeek "<=" falling back to "^": the node that may hold ``stream_id``."""
        return max(bisect_right(self.starts, stream_id) - 1, 0)

    def range(self, start: int, end: int, rev: bool = False,
              tombstones: bool = False) -> Iterator[tuple[int, StreamNode, int]]:
        """(id, node, index) of the entries with start <= id <= end, in order."""
        nodes = self.nodes
        if not nodes or start > end:
            return
        if not rev:
            k = self._node_at(start)
            j = bisect_left(nodes[k].ids, start)
            while k < len(nodes):
                node = nodes[k]
                ids = node.ids
                flags = node.flags
                while j < len(ids):
                    i = ids[j]
                    if i > end:
                        return
                    if tombstones or not flags[j] & FLAG_DELETED:
                        yield i, node, j
                    j += 1
                k += 1
                j = 0
        else:
            k = bisect_right(self.starts, end) - 1
            if k < 0:
                return
            j = bisect_right(nodes[k].ids, end) - 1
            while k >= 0:
                node = nodes[k]
                ids = node.ids
                flags = node.flags
                while j >= 0:
                    i = ids[j]
                    if i < start:
                        return
                    if tombstones or not flags[j] & FLAG_DELETED:
                        yield i, node, j
                    j -= 1
                k -= 1
                if k >= 0:
                    j = len(nodes[k].ids) - 1

    def entries(self, start: int, end: int, count: int) -> list[list[object]]:
        """[id, [field, value, ...]] of the live entries from ``start`` to ``end``, at
        most ``count`` of them (0: all): the reply of a forward read, without a generator
        per entry."""
        out: list[list[object]] = []
        nodes = self.nodes
        if not nodes or start > end:
            return out
        k = self._node_at(start)
        first = bisect_left(nodes[k].ids, start)
        while k < len(nodes):
            node = nodes[k]
            ms, seq = node.ids.ms, node.ids.seq
            flags = node.flags
            data = node.data
            mfield = node.mfields[0] if len(node.mfields) == 1 else None
            for j in range(first, len(ms)):
                high, low = ms[j], seq[j]
                if (high << 64 | low) > end:
                    return out
                if flags[j] & FLAG_DELETED:
                    continue
                value = data[j]
                pairs = [mfield, value] if value.__class__ is bytes else node.pairs(j)
                out.append([b"%d-%d" % (high, low), pairs])
                if len(out) == count:
                    return out
            k += 1
            first = 0
        return out

    def find(self, stream_id: int) -> tuple[StreamNode, int] | None:
        """The live entry with this ID, if any."""
        if not self.nodes:
            return None
        node = self.nodes[self._node_at(stream_id)]
        j = bisect_left(node.ids, stream_id)
        if j < len(node.ids) and node.ids[j] == stream_id and not node.flags[j] & FLAG_DELETED:
            return node, j
        return None

    def edge_id(self, first: bool, tombstones: bool = False) -> int:
        """streamGetEdgeID: the first or last entry's ID; with none, 0 (first) or the
        greatest ID (last) as Redis returns."""
        for stream_id, _, _ in self.range(0, MAX_ID, not first, tombstones):
            return stream_id
        return MAX_ID if first else 0

    def last_valid_id(self) -> int:
        """streamLastValidID (0 when empty): the last node's last live entry, usually."""
        for node in reversed(self.nodes):
            flags = node.flags
            for j in range(len(flags) - 1, -1, -1):
                if not flags[j] & FLAG_DELETED:
                    return node.ids[j]
        return 0

    # --- deleting ---

    def delete(self, stream_id: int) -> bool:
        """streamDeleteItem: tombstone the entry; a node losing its last live one goes."""
        found = self.find(stream_id)
        if found is None:
            return False
        node, j = found
        if node.live == 1:
            k = self.nodes.index(node, self._node_at(stream_id))
            del self.nodes[k]
            del self.starts[k]
        else:
            node.kill(j)
            node.counters_changed(node.live + 1, node.dead - 1)
        self.length -= 1
        return True

    def after_delete(self, first_deleted: bool) -> None:
        if self.length == 0:
            self.first_id = 0
        elif first_deleted:
            self.first_id = self.edge_id(True)

    def trim(self, maxlen: int | None, minid: int, approx: bool, limit: int) -> int:
        """streamTrim by MAXLEN (``maxlen`` set) or MINID: the number of entries removed."""
        deleted = 0
        nodes = self.nodes
        while nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            node = nodes[0]
            entries = node.live
            if limit and deleted + entries > limit:
                break
            if maxlen is not None:
                remove = self.length - entries >= maxlen
            else:
                remove = node.last_id() < minid
            if remove:
                del nodes[0]
                del self.starts[0]
                self.length -= entries
                deleted += entries
                continue
            if approx:
                break
            flags = node.flags
            live, dead = node.live, node.dead
            for j, stream_id in enumerate(node.ids):
                if (self.length <= maxlen) if maxlen is not None else stream_id >= minid:
                    break
                if not flags[j] & FLAG_DELETED:
                    node.kill(j)
                    self.length -= 1
                    deleted += 1
            node.counters_changed(live, dead)
            break
        if self.length == 0:
            self.first_id = 0
        elif deleted:
            self.first_id = self.edge_id(True)
        return deleted

    # --- copying ---

    def copy(self) -> Stream:
        """streamDup: the same nodes, groups, PELs and consumers."""
        new = Stream()
        for node in self.nodes:
            twin = StreamNode.__new__(StreamNode)
            twin.master, twin.mfields = node.master, node.mfields
            twin.ids, twin.data = node.ids.copy(), list(node.data)
            twin.flags = bytearray(node.flags)
            twin.live, twin.dead, twin.body = node.live, node.dead, node.body
            twin.exact_alloc()
            new.nodes.append(twin)
        new.starts = list(self.starts)
        new.length, new.last_id, new.first_id = self.length, self.last_id, self.first_id
        new.max_deleted, new.entries_added = self.max_deleted, self.entries_added
        if self.groups is not None:
            new.groups = {name: group.copy() for name, group in self.groups.items()}
        return new

    # --- groups ---

    def group(self, name: bytes) -> Group | None:
        groups = self.groups
        return None if groups is None else groups.get(name)

    def has_tombstones_in(self, start: int, end: int = MAX_ID) -> bool:
        """streamRangeHasTombstones."""
        if not self.length or not self.max_deleted:
            return False
        if self.first_id > self.max_deleted:
            return False
        return start <= self.max_deleted <= end

    def estimate_distance(self, stream_id: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry."""
        if not self.entries_added:
            return 0
        if not self.length and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return ENTRIES_READ_INVALID
        if not self.max_deleted or self.max_deleted < self.first_id:
            if stream_id < self.first_id:
                return self.entries_added - self.length
            if stream_id == self.first_id:
                return self.entries_added - self.length + 1
        return ENTRIES_READ_INVALID

    def lag(self, group: Group) -> int | None:
        """streamReplyWithCGLag: how many entries the group has yet to read, if known."""
        if not self.entries_added:
            return 0
        if (group.entries_read != ENTRIES_READ_INVALID
                and not self.has_tombstones_in(group.last_id)):
            return self.entries_added - group.entries_read
        entries_read = self.estimate_distance(group.last_id)
        if entries_read != ENTRIES_READ_INVALID:
            return self.entries_added - entries_read
        return None

    def rax_nodes(self) -> int:
        """The radix tree's node count (XINFO STREAM radix-tree-nodes).

        raxInsert keeps the tree compressed: a node per branching point, per key end
        (a leaf), and one per run of bytes that all keys below share; an empty tree is
        its root alone.
        """
        return rax_nodes(self.starts)


def rax_nodes(ids: list[int]) -> int:
    """The node count of a radix tree holding these sorted IDs as 16-byte keys."""
    keys = [k.to_bytes(16, "big") for k in ids]
    return _rax_nodes(keys, 0, len(keys), 0) if keys else 1


def _rax_nodes(keys: list[bytes], lo: int, hi: int, depth: int) -> int:
    """Nodes of the subtree at ``depth`` holding the sorted keys[lo:hi]."""
    if depth == 16:
        return 1
    first, last = keys[lo], keys[hi - 1]
    common = depth
    while common < 16 and first[common] == last[common]:
        common += 1
    if common > depth:
        return 1 + _rax_nodes(keys, lo, hi, common)
    total = 1
    i = lo
    while i < hi:
        byte = keys[i][depth]
        j = i + 1
        while j < hi and keys[j][depth] == byte:
            j += 1
        total += _rax_nodes(keys, i, j, depth + 1)
        i = j
    return total
