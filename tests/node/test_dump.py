"""DUMP/RESTORE and the RDB encoding under them, checked against Debian's redis-server 7.0.

redslot writes RDB version 11 (Redis 7.2); redis-server 7.0 writes 10. Payload bodies must
be byte-identical; the 10-byte trailer (version + CRC64) differs by the version alone.
"""

from __future__ import annotations

import random

import pytest
import redis
from differential import assert_same, retrailer
from redslot.node.types import rdb
from redslot.node.types.rdb import (
    RDB_VERSION,
    RdbError,
    Reader,
    Writer,
    crc64,
    dump_payload,
    load_payload,
    lzf_compress,
    lzf_decompress,
    verify_payload,
)
from redslot.node.types.registry import TYPE_NAMES, RdbEncoding, ValueType, register
from redslot.node.types.typeinfo import STRING_INFO
from resp import RawClient

_rng = random.Random(11)
VALUES = [
    b"", b"a", b"hello", b"0", b"-1", b"12", b"127", b"128", b"-128", b"-129", b"32767",
    b"32768", b"-32768", b"2147483647", b"2147483648", b"-2147483648", b"-2147483649",
    b"12345678901", b"9223372036854775807", b"007", b"+5", b"1.5", b" 1",
    b"x" * 20, b"x" * 21, b"a" * 100, b"hello world " * 8, b"ab" * 5000, b"z" * 70000,
    b"The quick brown fox jumps over the lazy dog. " * 300,
    bytes(range(256)) * 4,
    _rng.randbytes(300),
    bytes(_rng.choice(b"abc") for _ in range(3000)),
]


@pytest.fixture
def clients(node, reference):
    pair = [redis.Redis(port=s.port, socket_timeout=30) for s in (node, reference)]
    for client in pair:
        client.flushall()
    yield pair
    for client in pair:
        client.close()


# --- the payload format ---

def test_crc64_check_vector():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_dump_body_is_byte_identical_to_redis(clients):
    ours, theirs = clients
    for value in VALUES:
        ours.set("k", value)
        theirs.set("k", value)
        mine, ref = ours.dump("k"), theirs.dump("k")
        assert mine[:-10] == ref[:-10], value[:40]
        assert mine[-10:-8] == b"\x0b\x00"
        assert ref[-10:-8] == b"\x0a\x00"
        assert retrailer(ref, RDB_VERSION) == mine


def test_dump_of_integer_results_is_integer_encoded(clients):
    for client in clients:
        client.set("n", 41)
        client.incr("n")
    assert clients[0].dump("n")[:-10] == clients[1].dump("n")[:-10] == b"\x00\xc0\x2a"


def test_redis_payloads_restore_in_redslot_with_the_same_value(clients):
    ours, theirs = clients
    for value in VALUES:
        theirs.set("k", value)
        payload = theirs.dump("k")
        ours.restore("k", 0, payload, replace=True)
        assert ours.get("k") == value, value[:40]


def test_redis_7_0_refuses_version_11_payloads_as_it_refuses_7_2s(clients):
    ours, theirs = clients
    ours.set("k", "value")
    with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
        theirs.restore("k", 0, ours.dump("k"))


def test_redslot_payloads_restore_in_redis_once_marked_version_10(clients):
    ours, theirs = clients
    for value in VALUES:
        ours.set("k", value)
        theirs.restore("k", 0, retrailer(ours.dump("k"), 10), replace=True)
        assert theirs.get("k") == value, value[:40]


def test_dump_of_missing_key_is_null(node, reference):
    assert_same(node, reference, [("DUMP", "nokey"), ("DUMP",)])
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("HELLO", "3")
            assert c.call("DUMP", "nokey") == b"_\r\n"


# --- RESTORE ---

PAYLOAD = retrailer(dump_payload(b"hello"), 10)


def test_restore_option_and_argument_errors(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("RESTORE", "k", "0", PAYLOAD),
        ("RESTORE", "k", "x", PAYLOAD),
        ("RESTORE", "new", "x", PAYLOAD),
        ("RESTORE", "new", "-1", PAYLOAD),
        ("RESTORE", "new", "0", PAYLOAD, "IDLETIME", "-1"),
        ("RESTORE", "new", "0", PAYLOAD, "IDLETIME", "x"),
        ("RESTORE", "new", "0", PAYLOAD, "IDLETIME"),
        ("RESTORE", "new", "0", PAYLOAD, "FREQ", "256"),
        ("RESTORE", "new", "0", PAYLOAD, "FREQ", "-1"),
        ("RESTORE", "new", "0", PAYLOAD, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "new", "0", PAYLOAD, "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "new", "0", PAYLOAD, "BOGUS"),
        ("RESTORE", "k", "-1", PAYLOAD, "BOGUS"),
        ("RESTORE", "new", "0"),
        ("EXISTS", "new"),
    ])


def test_restore_rejects_bad_payloads(node, reference):
    good = PAYLOAD
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    newer = retrailer(good, 12)
    unknown_type = retrailer(b"\xc8\x05hello" + b"\0" * 10, 10)
    truncated = retrailer(b"\x00\x20abc" + b"\0" * 10, 10)
    bad_lzf = retrailer(b"\x00\xc3\x05\x30\xff\xff\xff\xff\xff" + b"\0" * 10, 10)
    assert_same(node, reference, [
        ("RESTORE", "k", "0", "short"),
        ("RESTORE", "k", "0", ""),
        ("RESTORE", "k", "0", bad_crc),
        ("RESTORE", "k", "0", newer),
        ("RESTORE", "k", "0", unknown_type),
        ("RESTORE", "k", "0", truncated),
        ("RESTORE", "k", "0", bad_lzf),
        ("EXISTS", "k"),
    ])


def test_restore_checks_the_crc_even_when_it_is_zero(node, reference):
    unchecked = PAYLOAD[:-8] + b"\0" * 8
    assert_same(node, reference, [("RESTORE", "k", "0", unchecked), ("EXISTS", "k")])


def test_restore_accepts_version_11_payloads(r):
    """Redis 7.2 behaviour: RESTORE takes payloads up to RDB version 11."""
    r.restore("k", 0, retrailer(PAYLOAD, 11))
    assert r.get("k") == b"hello"


def test_restore_replace_ttl_and_absttl(node, reference):
    far_ms = 4102444800000
    assert_same(node, reference, [
        ("SET", "k", "old", "EX", "500"),
        ("RESTORE", "k", "0", PAYLOAD, "REPLACE"),
        ("GET", "k"),
        ("TTL", "k"),
        ("RESTORE", "t", "100000", PAYLOAD),
        ("TTL", "t"),
        ("RESTORE", "a", str(far_ms), PAYLOAD, "ABSTTL"),
        ("PEXPIRETIME", "a"),
        ("RESTORE", "past", "1", PAYLOAD, "ABSTTL"),
        ("EXISTS", "past"),
        ("SET", "gone", "v"),
        ("RESTORE", "gone", "1", PAYLOAD, "ABSTTL", "REPLACE"),
        ("EXISTS", "gone"),
        ("RESTORE", "huge", "9223372036854775807", PAYLOAD),
        ("EXISTS", "huge"),
        ("RESTORE", "z", "0", PAYLOAD, "replace", "absttl", "replace"),
        ("TTL", "z"),
    ])


def test_restore_idletime_sets_the_idle_time(node, reference):
    assert_same(node, reference, [
        ("RESTORE", "k", "0", PAYLOAD, "IDLETIME", "1000"),
        ("OBJECT", "IDLETIME", "k"),
        ("RESTORE", "k", "0", PAYLOAD, "REPLACE", "FREQ", "9"),
        ("OBJECT", "IDLETIME", "k"),
    ])


def test_restore_freq_sets_the_lfu_counter_under_an_lfu_policy(node, reference):
    assert_same(node, reference, [
        ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"),
        ("RESTORE", "k", "0", PAYLOAD, "FREQ", "100"),
        ("OBJECT", "FREQ", "k"),
        ("RESTORE", "k", "0", PAYLOAD, "REPLACE", "IDLETIME", "50"),
        ("OBJECT", "FREQ", "k"),
        ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
    ])


def test_dump_then_restore_round_trips_in_redslot(r):
    for value in VALUES:
        r.set("src", value)
        r.restore("dst", 0, r.dump("src"), replace=True)
        assert r.get("dst") == value


# --- the RDB layer ---

@pytest.mark.parametrize("length,encoded", [
    (0, b"\x00"), (63, b"\x3f"), (64, b"\x40\x40"), (16383, b"\x7f\xff"),
    (16384, b"\x80\x00\x00\x40\x00"), (2**32 - 1, b"\x80\xff\xff\xff\xff"),
    (2**32, b"\x81\x00\x00\x00\x01\x00\x00\x00\x00"),
])
def test_length_encoding_round_trips(length, encoded):
    w = Writer()
    w.save_len(length)
    assert bytes(w.buf) == encoded
    assert Reader(encoded).load_len() == length


@pytest.mark.parametrize("text,encoded", [
    (b"0", b"\xc0\x00"), (b"-128", b"\xc0\x80"), (b"300", b"\xc1\x2c\x01"),
    (b"-32768", b"\xc1\x00\x80"), (b"70000", b"\xc2\x70\x11\x01\x00"),
    (b"2147483648", b"\x0a2147483648"), (b"01", b"\x0201"), (b"-0", b"\x02-0"),
])
def test_integer_strings_use_the_smallest_encoding(text, encoded):
    w = Writer()
    w.save_string(text)
    assert bytes(w.buf) == encoded
    assert Reader(encoded).load_string() == text


def test_lzf_round_trips_and_gives_up_when_it_cannot_save_four_bytes():
    rng = random.Random(5)
    for _ in range(200):
        data = bytes(rng.choice(b"abcd") for _ in range(rng.randint(3, 2000)))
        packed = lzf_compress(data, len(data) - 4)
        if packed is not None:
            assert len(packed) <= len(data) - 4
            assert lzf_decompress(packed, len(data)) == data
    assert lzf_compress(rng.randbytes(100), 96) is None


@pytest.mark.parametrize("packed", [
    b"\x05ab",          # literal run longer than the input
    b"\x20",            # back reference with no offset byte
    b"\xe0",            # long back reference with no length byte
    b"\x00a\x20\x05",   # back reference before the start of the output
])
def test_lzf_decompress_rejects_corrupt_input(packed):
    assert lzf_decompress(packed, 100) is None


def test_lzf_decompress_refuses_to_exceed_the_declared_size():
    packed = lzf_compress(b"a" * 100, 96)
    assert packed is not None
    assert lzf_decompress(packed, 99) is None


def test_truncated_data_raises_rdb_error():
    with pytest.raises(RdbError):
        Reader(b"\x05ab").load_string()
    with pytest.raises(RdbError):
        load_payload(b"\x07" + b"\0" * 10)


def test_verify_payload_checks_version_and_crc():
    payload = dump_payload(b"v")
    assert verify_payload(payload)
    assert verify_payload(retrailer(payload, 1))
    assert not verify_payload(retrailer(payload, RDB_VERSION + 1))
    assert not verify_payload(payload[:-1] + b"\x00")
    assert not verify_payload(b"123456789")


def test_a_new_type_plugs_in_with_one_record():
    class Pair(tuple):
        __slots__ = ()

    def save(w, value):
        w.save_string(value[0])
        w.save_string(value[1])

    def load(r):
        return Pair((r.load_string(), r.load_string()))

    record = ValueType("pair", (Pair,), STRING_INFO, lambda value: 0, Pair,
                       (RdbEncoding(250, (Pair,), save, load),))
    saved = {name: dict(table) for name, table in
             (("SAVERS", rdb.SAVERS), ("LOADERS", rdb.LOADERS), ("TYPE_NAMES", TYPE_NAMES))}
    register(record)
    try:
        assert TYPE_NAMES[Pair] == "pair"
        payload = dump_payload(Pair((b"a", b"12")))
        assert payload[0] == 250
        assert load_payload(payload) == (b"a", b"12")
    finally:
        for name, table in (("SAVERS", rdb.SAVERS), ("LOADERS", rdb.LOADERS),
                            ("TYPE_NAMES", TYPE_NAMES)):
            table.clear()
            table.update(saved[name])
