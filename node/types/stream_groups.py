"""Consumer groups of a stream: each with its last delivered ID, its pending entries
list (PEL) and its consumers, each consumer with its own PEL (t_stream.c's streamCG,
streamConsumer, streamNACK).

A PEL is a dict of ID -> Nack plus the IDs in sorted order (Redis's rax iterates in
ID order: XPENDING, XAUTOCLAIM and XINFO walk it). A Nack is shared by the group's PEL
and its owner's, as in Redis. Groups and consumers are dicts; replies list them sorted
by name, the order of Redis's radix trees.
"""

from __future__ import annotations

from bisect import bisect_left, insort


class Nack:
    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer: Consumer | None, now: int) -> None:
        self.delivery_time = now
        self.delivery_count = 1
        self.consumer = consumer


class Pel:
    """Pending entries by ID, iterable in ID order."""

    __slots__ = ("nacks", "order")

    def __init__(self) -> None:
        self.nacks: dict[int, Nack] = {}
        self.order: list[int] = []

    def __len__(self) -> int:
        return len(self.nacks)

    def get(self, stream_id: int) -> Nack | None:
        return self.nacks.get(stream_id)

    def add(self, stream_id: int, nack: Nack) -> None:
        self.nacks[stream_id] = nack
        order = self.order
        if not order or order[-1] < stream_id:
            order.append(stream_id)
        else:
            insort(order, stream_id)

    def remove(self, stream_id: int) -> None:
        del self.nacks[stream_id]
        order = self.order
        del order[bisect_left(order, stream_id)]

    def from_id(self, start: int) -> list[int]:
        """The IDs >= start, in order (a copy: callers change the PEL as they walk)."""
        order = self.order
        return order[bisect_left(order, start):]


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, now: int) -> None:
        self.name = name
        self.seen_time = now
        self.pel = Pel()


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "consumers")

    def __init__(self, last_id: int, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = Pel()
        self.consumers: dict[bytes, Consumer] = {}

    def consumer(self, name: bytes, now: int, refresh: bool = True) -> Consumer | None:
        """streamLookupConsumer: found consumers are seen now unless ``refresh`` is off."""
        consumer = self.consumers.get(name)
        if consumer is not None and refresh:
            consumer.seen_time = now
        return consumer

    def add_consumer(self, name: bytes, now: int) -> Consumer | None:
        """streamCreateConsumer: None when the name is taken."""
        if name in self.consumers:
            return None
        consumer = self.consumers[name] = Consumer(name, now)
        return consumer

    def delete_consumer(self, consumer: Consumer) -> None:
        """streamDelConsumer: its pending entries leave the group's PEL too."""
        for stream_id in consumer.pel.order:
            self.pel.remove(stream_id)
        del self.consumers[consumer.name]

    def acknowledge(self, stream_id: int) -> bool:
        nack = self.pel.get(stream_id)
        if nack is None:
            return False
        self.pel.remove(stream_id)
        if nack.consumer is not None:
            nack.consumer.pel.remove(stream_id)
        return True

    def sorted_consumers(self) -> list[Consumer]:
        return [self.consumers[name] for name in sorted(self.consumers)]

    def copy(self) -> Group:
        new = Group(self.last_id, self.entries_read)
        twins: dict[int, Nack] = {}
        for stream_id in self.pel.order:
            nack = self.pel.nacks[stream_id]
            twin = Nack(None, nack.delivery_time)
            twin.delivery_count = nack.delivery_count
            new.pel.add(stream_id, twin)
            twins[stream_id] = twin
        for name, consumer in self.consumers.items():
            copy = new.consumers[name] = Consumer(name, consumer.seen_time)
            for stream_id in consumer.pel.order:
                twin = twins[stream_id]
                twin.consumer = copy
                copy.pel.add(stream_id, twin)
        return new
