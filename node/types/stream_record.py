"""The stream's registry record: its RDB forms, what introspection tells of it, its cost.

A stream is saved as Redis 7.0 saves it (RDB_TYPE_STREAM_LISTPACKS_2): each node as its
16-byte master ID and its listpack, byte for byte as t_stream.c lays it out (counters,
master fields, then per entry its flags, ID deltas, fields unless the master's, values
and element count), then the stream's counters, its groups with their PELs (ID, delivery
time, delivery count) and consumers (name, seen time, the IDs they own). So DUMP payloads
and snapshots travel both ways between redslot and redis-server. Loading also takes the
6.x form (STREAM_LISTPACKS) and Redis 7.2's (STREAM_LISTPACKS_3, with an active time per
consumer, dropped), and checks a listpack as streamValidateListpackIntegrity does.
"""

from __future__ import annotations

from .footprint import INT, alloc, bytes_cost, obj
from .listpack import decode_listpack, encode_listpack
from .rdb import RdbError, Reader, Writer
from .registry import RdbEncoding, ValueType
from .stream import (
    ENTRIES_READ_INVALID,
    FLAG_DELETED,
    FLAG_SAMEFIELDS,
    MASK64,
    Stream,
    StreamNode,
    delta,
    rax_nodes,
)
from .stream_groups import Group, Nack
from .typeinfo import OBJ_STREAM, ROBJ_SIZE, Digest, TypeInfo, jemalloc_size, mix_digest

RDB_TYPE_STREAM_LISTPACKS = 15
RDB_TYPE_STREAM_LISTPACKS_2 = 19
RDB_TYPE_STREAM_LISTPACKS_3 = 21
U64 = (1 << 64) - 1


# --- listpacks ---

def node_listpack(node: StreamNode) -> bytes:
    """The node's listpack, element for element as streamAppendItem wrote it."""
    master_ms, master_seq = node.master >> 64, node.master & MASK64
    items = [b"%d" % node.live, b"%d" % node.dead, b"%d" % len(node.mfields), *node.mfields, b"0"]
    for j, (stream_id, flags) in enumerate(zip(node.ids, node.flags, strict=True)):
        data = node.values(j)
        items += (b"%d" % flags, b"%d" % delta(stream_id >> 64, master_ms),
                  b"%d" % delta(stream_id & MASK64, master_seq))
        if flags & FLAG_SAMEFIELDS:
            items += data
            items.append(b"%d" % (len(data) + 3))
        else:
            n = len(data) // 2
            items.append(b"%d" % n)
            items += data
            items.append(b"%d" % (2 * n + 4))
    return encode_listpack(items)


def _int(item: bytes) -> int:
    try:
        return int(item)
    except ValueError:
        raise RdbError("stream listpack integer expected") from None


def load_node(master: int, blob: bytes) -> StreamNode:
    """A node from its listpack, after streamValidateListpackIntegrity's deep checks."""
    items = decode_listpack(blob)
    if len(items) < 4:
        raise RdbError("stream listpack too short")
    count, deleted, nfields = _int(items[0]), _int(items[1]), _int(items[2])
    p = 3 + nfields
    if nfields < 0 or p >= len(items) or _int(items[p]) != 0:
        raise RdbError("bad stream master entry")
    node = StreamNode(master, tuple(items[3:p]))
    p += 1
    master_ms, master_seq = master >> 64, master & MASK64
    for _ in range(count + deleted):
        if p + 3 > len(items):
            raise RdbError("stream listpack truncated")
        flags, ms, seq = _int(items[p]), _int(items[p + 1]), _int(items[p + 2])
        p += 3
        if flags & FLAG_SAMEFIELDS:
            n = nfields
            data = tuple(items[p:p + n])
            p += n
            expected = n + 3
        else:
            n = _int(items[p]) if p < len(items) else -1
            if n < 0:
                raise RdbError("bad stream entry field count")
            data = tuple(items[p + 1:p + 1 + 2 * n])
            p += 1 + 2 * n
            expected = 2 * n + 4
        if p >= len(items) or len(data) != (n if flags & FLAG_SAMEFIELDS else 2 * n):
            raise RdbError("stream listpack truncated")
        if _int(items[p]) != expected:
            raise RdbError("bad stream entry count")
        p += 1
        stream_id = ((master_ms + ms) & MASK64) << 64 | ((master_seq + seq) & MASK64)
        node.add(stream_id, data, flags & (FLAG_DELETED | FLAG_SAMEFIELDS))
    if p != len(items) or node.live != count:
        raise RdbError("stream listpack has extra elements")
    return node


# --- RDB ---

def _save_id(w: Writer, stream_id: int) -> None:
    w.save_len(stream_id >> 64)
    w.save_len(stream_id & MASK64)


def _save_time(w: Writer, ms: int) -> None:
    w.buf += ms.to_bytes(8, "little", signed=True)


def save_stream(w: Writer, s: Stream) -> None:
    w.save_len(len(s.nodes))
    for node in s.nodes:
        w.save_string(node.master.to_bytes(16, "big"))
        w.save_string(node_listpack(node))
    w.save_len(s.length)
    _save_id(w, s.last_id)
    _save_id(w, s.first_id)
    _save_id(w, s.max_deleted)
    w.save_len(s.entries_added)
    groups = s.groups or {}
    w.save_len(len(groups))
    for name in sorted(groups):
        group = groups[name]
        w.save_string(name)
        _save_id(w, group.last_id)
        w.save_len(group.entries_read & U64)
        pel = group.pel
        w.save_len(len(pel))
        for stream_id in pel.order:
            nack = pel.nacks[stream_id]
            w.buf += stream_id.to_bytes(16, "big")
            _save_time(w, nack.delivery_time)
            w.save_len(nack.delivery_count)
        consumers = group.sorted_consumers()
        w.save_len(len(consumers))
        for consumer in consumers:
            w.save_string(consumer.name)
            _save_time(w, consumer.seen_time)
            w.save_len(len(consumer.pel))
            for stream_id in consumer.pel.order:
                w.buf += stream_id.to_bytes(16, "big")


def _load_id(r: Reader) -> int:
    ms = r.load_len()
    seq = r.load_len()
    return ms << 64 | seq


def _load_time(r: Reader) -> int:
    return int.from_bytes(r.read(8), "little", signed=True)


def _loader(rdb_type: int):  # type: ignore[no-untyped-def]
    def load(r: Reader) -> Stream:
        s = Stream()
        for _ in range(r.load_len()):
            key = r.load_string()
            if len(key) != 16:
                raise RdbError("stream node key is not a stream ID")
            master = int.from_bytes(key, "big")
            if s.starts and master <= s.starts[-1]:
                raise RdbError("duplicate or unordered stream node")
            blob = r.load_string()
            node = load_node(master, blob)
            if not node.ids:
                raise RdbError("empty stream listpack")
            node.alloc = jemalloc_size(len(blob))
            s.nodes.append(node)
            s.starts.append(master)
        s.length = r.load_len()
        s.last_id = _load_id(r)
        if rdb_type == RDB_TYPE_STREAM_LISTPACKS:
            s.entries_added = s.length
            s.first_id = s.edge_id(True) if s.length else 0
        else:
            s.first_id = _load_id(r)
            s.max_deleted = _load_id(r)
            s.entries_added = r.load_len()
        if s.length and not s.nodes:
            raise RdbError("stream with entries and no nodes")
        ngroups = r.load_len()
        groups: dict[bytes, Group] = {}
        if ngroups:
            s.groups = groups
        for _ in range(ngroups):
            name = r.load_string()
            last_id = _load_id(r)
            if rdb_type == RDB_TYPE_STREAM_LISTPACKS:
                entries_read = s.estimate_distance(last_id)
            else:
                entries_read = r.load_len()
                if entries_read == U64:
                    entries_read = ENTRIES_READ_INVALID
            if name in groups:
                raise RdbError("duplicated consumer group name")
            group = groups[name] = Group(last_id, entries_read)
            for _ in range(r.load_len()):
                stream_id = int.from_bytes(r.read(16), "big")
                nack = Nack(None, _load_time(r))
                nack.delivery_count = r.load_len()
                if group.pel.get(stream_id) is not None:
                    raise RdbError("duplicated global PEL entry")
                group.pel.add(stream_id, nack)
            for _ in range(r.load_len()):
                consumer = group.add_consumer(r.load_string(), 0)
                if consumer is None:
                    raise RdbError("duplicate stream consumer")
                consumer.seen_time = _load_time(r)
                if rdb_type == RDB_TYPE_STREAM_LISTPACKS_3:
                    _load_time(r)
                for _ in range(r.load_len()):
                    stream_id = int.from_bytes(r.read(16), "big")
                    owned = group.pel.get(stream_id)
                    if owned is None or owned.consumer is not None:
                        raise RdbError("consumer PEL entry not in the group PEL")
                    owned.consumer = consumer
                    consumer.pel.add(stream_id, owned)
            if any(nack.consumer is None for nack in group.pel.nacks.values()):
                raise RdbError("group PEL entry without a consumer")
        return s

    return load


# --- introspection ---

STREAM_SIZE = 80  # sizeof(stream)
RAX_NODE = 4 + 8 * 30  # sizeof(raxNode), plus the fixed overhead objectComputeSize adds
CG_SIZE = 40  # sizeof(streamCG)
CONSUMER_SIZE = 24  # sizeof(streamConsumer)
NACK_SIZE = 24  # sizeof(streamNACK)


def _rax_usage(keys: list[int]) -> int:
    """streamRadixTreeMemoryUsage of a tree of 16-byte IDs."""
    return len(keys) * 16 + rax_nodes(keys) * RAX_NODE


def _size(s: Stream, samples: int) -> int:
    """objectComputeSize: the listpacks as allocated (the first ``samples`` averaged over
    all but the last), the trees, and the groups' PELs and consumers."""
    size = ROBJ_SIZE + STREAM_SIZE + _rax_usage(s.starts)
    nodes = s.nodes
    taken = nodes[:samples]
    lpsize = sum(node.alloc for node in taken)
    if len(nodes) <= len(taken):
        size += lpsize
    else:
        size += lpsize // len(taken) * (len(nodes) - 1) + nodes[-1].alloc
    for group in (s.groups or {}).values():
        size += CG_SIZE + _rax_usage(group.pel.order) + NACK_SIZE * len(group.pel)
        for consumer in group.consumers.values():
            size += CONSUMER_SIZE + len(consumer.name) + _rax_usage(consumer.pel.order)
    return size


def _digest(digest: Digest, s: Stream) -> Digest:
    for stream_id, node, j in s.range(0, (1 << 128) - 1):
        digest = mix_digest(digest, b"%d.%d" % (stream_id >> 64, stream_id & MASK64))
        for item in node.pairs(j):
            digest = mix_digest(digest, item)
    return digest


def _empty_node_cost() -> int:
    node = StreamNode(0, ())
    return (obj(node) + obj(node.ids) + obj(node.ids.ms) + obj(node.ids.seq) + obj(node.data)
            + obj(node.flags) + INT)


STREAM_COST = obj(Stream())
NODE_COST = _empty_node_cost()  # a node's objects, its key int in ``starts``, no entries
ENTRY_SLOTS = 8 + 8 + 8 + 1  # an entry's ms and seq, its data reference and its flags
GROWTH = 9 / 8  # CPython over-allocates growing lists and arrays by about an eighth


def _footprint(s: Stream) -> int:
    """The nodes' objects, each entry's slots in them, and its values (costed as the last
    node's middle entry), then the groups' PELs: O(1) and cheap, as it runs after every
    write to the stream."""
    nodes = s.nodes
    cost = STREAM_COST + obj(nodes) + obj(s.starts) + NODE_COST * len(nodes)
    if nodes:
        last = nodes[-1]
        stored = last.data[len(last.data) // 2]
        values = (bytes_cost(stored) if isinstance(stored, bytes) else
                  obj(stored) + sum(map(bytes_cost, stored)))
        cost += int((s.length + len(nodes)) * (ENTRY_SLOTS * GROWTH + values))
    for group in (s.groups or {}).values():
        cost += 200 + len(group.pel) * (alloc(56) + 2 * INT + 100) + len(group.consumers) * 300
    return cost


STREAM = ValueType(
    "stream", (Stream,), TypeInfo(OBJ_STREAM, lambda s: "stream", _size, _digest), _footprint,
    Stream.copy,
    (RdbEncoding(RDB_TYPE_STREAM_LISTPACKS_2, (Stream,), save_stream,
                 _loader(RDB_TYPE_STREAM_LISTPACKS_2)),
     RdbEncoding(RDB_TYPE_STREAM_LISTPACKS, (), None, _loader(RDB_TYPE_STREAM_LISTPACKS)),
     RdbEncoding(RDB_TYPE_STREAM_LISTPACKS_3, (), None, _loader(RDB_TYPE_STREAM_LISTPACKS_3))))
