"""The list value, and the quicklist/listpack layout Redis 7.0 would give it.

``ListValue`` keeps its elements in two Python lists that meet in the middle: ``head``
holds the first elements in reverse order, ``tail`` the rest in order, so both ends push
and pop with ``list.append``/``list.pop`` (O(1) amortised: when one side runs dry it takes
half of the other, the classic two-stack deque) and element ``i`` is one subscript away
(O(1)). Compared with Redis's quicklist (a linked list of 8 KB listpacks), that gives:

=========================  =====================  =================================
command                    redslot                redis quicklist
=========================  =====================  =================================
LPUSH/RPUSH/LPOP/RPOP      O(1) amortised each    O(1)
LINDEX, LSET               O(1)                   O(N/node size) node walk
LRANGE start end           O(M) (slices)          O(S+M)
LTRIM                      O(removed), plus a C   O(removed)
                           memmove of the rest
LINSERT, LREM, LPOS        O(N)                   O(N)
MEMORY USAGE, DUMP         O(N) (node layout)     O(samples), O(N)
LMOVE, RPOPLPUSH, LMPOP    O(1) / O(count)        O(1) / O(count)
=========================  =====================  =================================

collections.deque was the other candidate: C-speed ends, but indexing walks its
64-slot blocks (O(N/64), the same order as quicklist), slicing is not supported, and
an empty deque costs 760 bytes where this costs 168 (object and two empty lists).

Redis 7.0 reports every list as ``quicklist`` (7.2 says ``listpack`` for small ones;
we follow 7.0.15, the reference we test against). Memory usage and DUMP need Redis's
node layout, which depends on a list's history (which end was pushed, partial nodes left
by pops, LINSERT splits); ``quicklist_nodes`` rebuilds the layout of the same elements
appended one by one at the tail, which is exact for lists built by RPUSH and for every
list that fits in one node, and a close estimate otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING

from .footprint import bytes_cost, obj, picked_cost
from .listpack import LP_HDR_SIZE, decode_listpack, encode_listpack, entry_size, listpack_size
from .rdb import RdbError, Reader, Writer
from .registry import RdbEncoding, ValueType
from .typeinfo import OBJ_LIST, ROBJ_SIZE, Digest, TypeInfo, jemalloc_size, mix_digest

if TYPE_CHECKING:
    pass


class ListValue:
    """A Redis list: element i is ``head[-1 - i]`` while i < len(head), else in ``tail``.

    ``fill`` is list-max-listpack-size when the list was created (quicklistSetOptions),
    used only to model node sizes.
    """

    __slots__ = ("head", "tail", "fill")

    def __init__(self, items: list[bytes] | None = None, fill: int = -2) -> None:
        self.head: list[bytes] = []
        self.tail: list[bytes] = items if items is not None else []
        self.fill = fill

    def __len__(self) -> int:
        return len(self.head) + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        return chain(reversed(self.head), self.tail)

    def reversed(self) -> Iterator[bytes]:
        return chain(reversed(self.tail), self.head)

    def to_list(self) -> list[bytes]:
        return self.head[::-1] + self.tail

    def copy(self) -> ListValue:
        copy = ListValue(self.tail[:], self.fill)
        copy.head = self.head[:]
        return copy

    def footprint(self) -> int:
        """The bytes this list costs the process (footprint.py): object, both halves, items."""
        head, tail = self.head, self.tail
        cost = obj(self) + obj(head) + obj(tail)
        if len(head) < len(tail):
            head, tail = tail, head
        if not tail:
            return cost + picked_cost(head, bytes_cost)
        n = len(head) + len(tail)
        return cost + picked_cost(head, bytes_cost) * n // len(head)

    # --- the ends ---

    def _fill_head(self, n: int) -> None:
        """Move elements from ``tail`` so that ``head`` holds at least ``n`` (and half)."""
        tail = self.tail
        m = min(max(n - len(self.head), (len(tail) + 1) // 2), len(tail))
        self.head = tail[m - 1::-1] + self.head
        del tail[:m]

    def _fill_tail(self, n: int) -> None:
        head = self.head
        m = min(max(n - len(self.tail), (len(head) + 1) // 2), len(head))
        self.tail = head[m - 1::-1] + self.tail
        del head[:m]

    def pop_left(self) -> bytes:
        if not self.head:
            self._fill_head(1)
        return self.head.pop()

    def pop_right(self) -> bytes:
        if not self.tail:
            self._fill_tail(1)
        return self.tail.pop()

    def pop_left_many(self, n: int) -> list[bytes]:
        """The first ``n`` elements (n <= len), removed."""
        if len(self.head) < n:
            self._fill_head(n)
        head = self.head
        items = head[:-n - 1:-1]
        del head[-n:]
        return items

    def pop_right_many(self, n: int) -> list[bytes]:
        """The last ``n`` elements, last first (n <= len), removed."""
        if len(self.tail) < n:
            self._fill_tail(n)
        tail = self.tail
        items = tail[:-n - 1:-1]
        del tail[-n:]
        return items

    # --- positions ---

    def get(self, i: int) -> bytes:
        """Element ``i`` (0 <= i < len)."""
        h = len(self.head)
        return self.head[h - 1 - i] if i < h else self.tail[i - h]

    def set(self, i: int, value: bytes) -> None:
        h = len(self.head)
        if i < h:
            self.head[h - 1 - i] = value
        else:
            self.tail[i - h] = value

    def range(self, start: int, end: int) -> list[bytes]:
        """Elements ``start`` to ``end`` inclusive (0 <= start <= end < len)."""
        head = self.head
        h = len(head)
        if start >= h:
            return self.tail[start - h:end - h + 1]
        last = min(end, h - 1)
        items = head[h - 1 - last:h - start][::-1]
        if end >= h:
            items += self.tail[:end - h + 1]
        return items

    def insert(self, i: int, value: bytes) -> None:
        """Make ``value`` element ``i`` (0 <= i <= len)."""
        h = len(self.head)
        if i <= h:
            self.head.insert(h - i, value)
        else:
            self.tail.insert(i - h, value)

    def drop_left(self, n: int) -> None:
        head = self.head
        if n <= len(head):
            del head[len(head) - n:]
        else:
            del self.tail[:n - len(head)]
            self.head = []

    def drop_right(self, n: int) -> None:
        tail = self.tail
        if n <= len(tail):
            del tail[len(tail) - n:]
        else:
            del self.head[:n - len(tail)]
            self.tail = []

    def replace_all(self, items: list[bytes]) -> None:
        self.head = []
        self.tail = items


# --- quicklist node layout (quicklist.c, 7.0) ---

SIZE_SAFETY_LIMIT = 8192
SIZE_ESTIMATE_OVERHEAD = 8
OPTIMIZATION_LEVEL = (4096, 8192, 16384, 32768, 65536)


def quicklist_nodes(value: ListValue, limit: int | None = None) -> tuple[list[list[bytes]], int]:
    """The elements of the first ``limit`` nodes (all when None) and the number of nodes,
    as appending the elements one by one at the tail would lay them out.

    _quicklistNodeAllowInsert (quicklistNodeExceedsLimit): the node's listpack size plus
    the element's length plus 8 must stay within the size limit of a negative fill, else
    within 8 KB and the entry count of a positive one.
    """
    fill = value.fill
    if fill < 0:
        size_limit = OPTIMIZATION_LEVEL[min(-fill - 1, len(OPTIMIZATION_LEVEL) - 1)]
        count_limit = 1 << 62
    else:
        size_limit = SIZE_SAFETY_LIMIT
        count_limit = max(fill, 1)
    size_limit -= SIZE_ESTIMATE_OVERHEAD
    nodes: list[list[bytes]] = []
    count = 0
    current: list[bytes] = []
    in_node = size = 0
    for s in value:
        if count and size + len(s) <= size_limit and in_node < count_limit:
            in_node += 1
            size += entry_size(s)
            if len(nodes) == count:
                current.append(s)
            continue
        count += 1
        in_node = 1
        size = LP_HDR_SIZE + 1 + entry_size(s)
        if limit is None or len(nodes) < limit:
            current = [s]
            nodes.append(current)
    return nodes, count


# --- the list type's record: introspection, RDB, registry ---

QUICKLIST_SIZE = 40
QUICKLIST_NODE_SIZE = 40
QUICKLIST_NODE_PLAIN = 1
QUICKLIST_NODE_PACKED = 2
RDB_TYPE_LIST = 1
RDB_TYPE_LIST_QUICKLIST_2 = 18


def list_size(value: ListValue, samples: int) -> int:
    """objectComputeSize for a quicklist: sampled nodes' average times the node count."""
    nodes, count = quicklist_nodes(value, samples)
    sampled = 0
    for node in nodes:
        sampled += QUICKLIST_NODE_SIZE + jemalloc_size(listpack_size(node))
    return int(ROBJ_SIZE + QUICKLIST_SIZE + sampled / len(nodes) * count)


def list_digest(digest: Digest, value: ListValue) -> Digest:
    for element in value:
        digest = mix_digest(digest, element)
    return digest


def save_list(w: Writer, value: ListValue) -> None:
    nodes, count = quicklist_nodes(value)
    w.save_len(count)
    for node in nodes:
        w.save_len(QUICKLIST_NODE_PACKED)
        w.save_string(encode_listpack(node))


def load_quicklist(r: Reader) -> ListValue:
    items: list[bytes] = []
    for _ in range(r.load_len()):
        container = r.load_len()
        data = r.load_string()
        if container == QUICKLIST_NODE_PLAIN:
            items.append(data)
        elif container == QUICKLIST_NODE_PACKED:
            items += decode_listpack(data)
        else:
            raise RdbError("unknown quicklist node container")
    if not items:
        raise RdbError("empty list")
    return ListValue(items)


def load_plain_list(r: Reader) -> ListValue:
    items = [r.load_string() for _ in range(r.load_len())]
    if not items:
        raise RdbError("empty list")
    return ListValue(items)


LIST = ValueType(
    "list", (ListValue,),
    TypeInfo(OBJ_LIST, lambda value: "quicklist", list_size, list_digest),
    ListValue.footprint, ListValue.copy,
    (RdbEncoding(RDB_TYPE_LIST_QUICKLIST_2, (ListValue,), save_list, load_quicklist),
     RdbEncoding(RDB_TYPE_LIST, (), None, load_plain_list)))
