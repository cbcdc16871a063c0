"""Hash slots (cluster.c keyHashSlot) and the per-slot key index of a cluster node.

A key's slot is CRC16/XMODEM of the key, or of its hash tag (the bytes between the first
``{`` and the next ``}``, when not empty), modulo 16384. ``binascii.crc_hqx`` with an initial
value of 0 is exactly CRC16/XMODEM, computed in C.

``SlotIndex`` answers COUNTKEYSINSLOT and GETKEYSINSLOT without walking the keyspace, as
Redis's per-slot dictionaries do: the keyspace (keyspace.py) adds and removes keys here in
the same place it updates its own tables, so the index cannot drift from the data.
"""

from __future__ import annotations

from binascii import crc_hqx

SLOTS = 16384
SLOT_MASK = SLOTS - 1


def key_slot(key: bytes) -> int:
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return crc_hqx(key[start + 1:end], 0) & SLOT_MASK
    return crc_hqx(key, 0) & SLOT_MASK


class SlotIndex:
    """Keys by slot: a set per non-empty slot."""

    __slots__ = ("by_slot",)

    def __init__(self) -> None:
        self.by_slot: dict[int, set[bytes]] = {}

    def add(self, key: bytes) -> None:
        slot = key_slot(key)
        keys = self.by_slot.get(slot)
        if keys is None:
            self.by_slot[slot] = {key}
        else:
            keys.add(key)

    def discard(self, key: bytes) -> None:
        slot = key_slot(key)
        keys = self.by_slot.get(slot)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self.by_slot[slot]

    def clear(self) -> None:
        self.by_slot.clear()

    def count(self, slot: int) -> int:
        keys = self.by_slot.get(slot)
        return len(keys) if keys is not None else 0

    def keys_in(self, slot: int, count: int) -> list[bytes]:
        """Up to ``count`` keys of ``slot`` (GETKEYSINSLOT)."""
        keys = self.by_slot.get(slot)
        if not keys or count <= 0:
            return []
        out = []
        for key in keys:
            out.append(key)
            if len(out) == count:
                break
        return out

    def slots(self) -> list[int]:
        """The slots that hold at least one key, ascending."""
        return sorted(self.by_slot)
