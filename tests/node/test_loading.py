"""Loading a snapshot fast: small hashes kept as the file's listpacks until first used,
keys stored in runs, the CRC64 of a big file checked by a child meanwhile.

The files come from Debian's redis-server; what the node serves from them, writes back
from them and counts for them is compared with redis-server and with the node's own
accounting (DEBUG FOOTPRINT).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from nodes import ServerProcess, check_footprint, free_port, start_node, start_redis_server

KEYS = 400


def client(proc: ServerProcess, db: int = 0) -> redis.Redis:
    return redis.Redis(port=proc.port, db=db, socket_timeout=30)


def hash_fields(i: int, rng: random.Random) -> dict[bytes, bytes]:
    """Small hashes of strings and integers of every listpack width, some with integers
    of three digits (their packed form is longer than their listpack)."""
    fields = {b"name": b"user%d" % i, b"age": b"%d" % (i % 128),
              b"n%d" % rng.randrange(9): b"%d" % rng.choice([-5000, 70000, -(2**40), 10**18])}
    if i % 3 == 0:
        fields.update({b"i%d" % j: b"%d" % (100 + j) for j in range(20)})
    return fields


@pytest.fixture
def redis_file(tmp_path: Path) -> Iterator[Path]:
    """A dump.rdb of redis-server's: small hashes in databases 0 and 3, some with a TTL,
    a big hash, a hash with a long value, a string."""
    ref = start_redis_server()
    try:
        rng = random.Random(22)
        c = client(ref)
        pipe = c.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.hset(b"h:%d" % i, mapping=hash_fields(i, rng))
            if i % 7 == 0:
                pipe.pexpire(b"h:%d" % i, 900_000)
        pipe.execute()
        c.hset("big", mapping={f"f{i}": i for i in range(600)})
        c.hset("long", "f", "v" * 100)
        c.set("s", "string")
        client(ref, 3).hset("in-db3", mapping={"a": 1, "b": "x"})
        assert c.save() is True
        shutil.copy(Path(ref.workdir) / "dump.rdb", tmp_path / "dump.rdb")
    finally:
        ref.stop()
    yield tmp_path


def both_on(path: Path) -> tuple[ServerProcess, ServerProcess]:
    ref_dir = path / "ref"
    ref_dir.mkdir()
    shutil.copy(path / "dump.rdb", ref_dir / "dump.rdb")
    return start_node("--dir", str(path)), start_redis_server("--dir", str(ref_dir))


def all_keys(proc: ServerProcess) -> list[bytes]:
    return sorted(client(proc).keys())


def test_loaded_hashes_answer_as_in_redis(redis_file: Path) -> None:
    node, ref = both_on(redis_file)
    try:
        keys = all_keys(ref)
        assert all_keys(node) == keys
        for key in keys:
            for cmd in (("OBJECT", "ENCODING", key), ("TYPE", key)):
                assert client(node).execute_command(*cmd) == client(ref).execute_command(*cmd)
            # the first use of a loaded hash may be a DUMP (its listpack as read) ...
            if key.startswith(b"h:") and int(key[2:]) % 2:
                assert client(node).dump(key)[:-10] == client(ref).dump(key)[:-10]
            assert client(node).pttl(key) // 10_000 == client(ref).pttl(key) // 10_000
        for key in keys:  # ... or a read (decoded), then a DUMP of the decoded form
            if client(ref).type(key) == b"hash":
                assert (client(node).execute_command("HGETALL", key)
                        == client(ref).execute_command("HGETALL", key))
                if client(ref).object("encoding", key) == b"listpack":  # a dict's order differs
                    assert client(node).dump(key)[:-10] == client(ref).dump(key)[:-10]
        assert client(node, 3).hgetall("in-db3") == client(ref, 3).hgetall("in-db3")
        assert client(node).dbsize() == client(ref).dbsize()
    finally:
        check_footprint(node)
        node.stop()
        ref.stop()


def test_loaded_hashes_change_as_in_redis(redis_file: Path) -> None:
    node, ref = both_on(redis_file)
    try:
        for proc in (node, ref):
            c = client(proc)
            c.hset(b"h:1", b"new", b"field")
            c.hset(b"h:2", b"name", b"renamed")
            c.hdel(b"h:3", b"age")
            c.hincrby(b"h:4", b"age", 1000)
            c.hset(b"h:6", mapping={b"f%d" % i: i for i in range(600)})  # to hashtable
            c.copy(b"h:8", b"copy")
            c.rename(b"h:9", b"renamed")
            c.info("memory")  # the dataset's cost is settled before "renamed" is read
        for key in (b"h:1", b"h:2", b"h:3", b"h:4", b"h:6", b"h:8", b"copy", b"renamed"):
            assert (client(node).execute_command("HGETALL", key)
                    == client(ref).execute_command("HGETALL", key)), key
            assert client(node).object("encoding", key) == client(ref).object("encoding", key)
    finally:
        check_footprint(node)
        node.stop()
        ref.stop()


def test_first_use_of_a_loaded_hash_is_counted(redis_file: Path) -> None:
    node = start_node("--dir", str(redis_file))
    try:
        c = client(node)
        tracked, recomputed = c.execute_command("DEBUG", "FOOTPRINT")
        assert tracked == recomputed
        for i in range(0, KEYS, 3):  # 20 three-digit integers: the packed form is longer
            assert c.hget(b"h:%d" % i, b"i19") == b"119"
        tracked_after, recomputed_after = c.execute_command("DEBUG", "FOOTPRINT")
        assert tracked_after == recomputed_after
        assert tracked_after != tracked
    finally:
        node.stop()


def test_untouched_loaded_hashes_are_saved_as_read(redis_file: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    original = start_redis_server("--dir", str(redis_file))
    try:
        digest = client(original).execute_command("DEBUG", "DIGEST")
    finally:
        original.stop()
    node = start_node("--dir", str(redis_file))
    try:
        assert client(node).save() is True
        assert client(node).execute_command("DEBUG", "DIGEST") == digest
    finally:
        node.stop()
    check = subprocess.run(["redis-check-rdb", str(redis_file / "dump.rdb")],
                           capture_output=True, text=True, timeout=60)
    assert "Checksum OK" in check.stdout, check.stdout
    ref_dir = tmp_path_factory.mktemp("reloaded")
    shutil.copy(redis_file / "dump.rdb", ref_dir / "dump.rdb")
    ref = start_redis_server("--dir", str(ref_dir))
    try:
        assert client(ref).execute_command("DEBUG", "DIGEST") == digest
    finally:
        ref.stop()


def start_failing(path: Path) -> str:
    """Start a node on ``path`` that must refuse its file: what it printed."""
    argv = [sys.executable, "-m", "redslot.cli", "node", "--port", str(free_port()),
            "--bind", "127.0.0.1", "--dir", str(path), "--save", ""]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_a_wrong_checksum_in_a_big_file_stops_the_node(tmp_path: Path) -> None:
    node = start_node("--dir", str(tmp_path))
    try:
        c = client(node)
        pipe = c.pipeline(transaction=False)
        for i in range(30_000):
            pipe.hset(b"hash:%d" % i, mapping={b"name": b"value-%d" % i, b"n": i % 100})
        pipe.execute()
        assert c.save() is True
    finally:
        node.stop()
    path = tmp_path / "dump.rdb"
    data = bytearray(path.read_bytes())
    assert len(data) > 1 << 20  # the child's CRC, not the parent's
    at = data.index(b"value-", len(data) // 2) + 1
    data[at] ^= 0x20  # "value" -> "vAlue": the file still parses
    path.write_bytes(bytes(data))
    assert "Wrong RDB checksum" in start_failing(tmp_path)


def test_a_key_twice_in_a_file_stops_the_node(tmp_path: Path) -> None:
    listpack = b"\x0d\x00\x00\x00\x02\x00\x81f\x02\x81v\x02\xff"  # ["f", "v"]
    hash_k = b"\x10\x01k\x0d" + listpack
    others = b"".join(b"\x10\x02k%d\x0d" % i + listpack for i in range(5))
    # no checksum (zero): the file is taken as it is
    body = b"REDIS0010\xfe\x00" + others + hash_k + others.replace(b"\x02k", b"\x02j") + hash_k
    (tmp_path / "dump.rdb").write_bytes(body + b"\xff" + bytes(8))
    assert "RDB has duplicated key 'k' in DB 0" in start_failing(tmp_path)


def resp(*argv: bytes | str) -> bytes:
    args = [a.encode() if isinstance(a, str) else a for a in argv]
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


AOF_COMMANDS = [
    ("SELECT", "0"), ("HSET", "h", "a", "1", "b", "2"), ("HSET", "dup", "x", "1", "x", "2"),
    ("hset", "lower", "f", "v"), ("HsEt", "mixed", "f", "v"), ("SET", "s", "abc"),
    ("INCR", "s"),  # an error: the replay goes on, as Redis's
    ("HSET", "h", "a", "one", "c", "3"), ("MULTI",), ("HSET", "in-multi", "f", "v"),
    ("INCRBY", "n", "5"), ("EXEC",), ("SELECT", "2"), ("RPUSH", "l", "a", "b", "c"),
    ("PEXPIREAT", "l", "99999999999999"), ("DEL", "lower"), ("SELECT", "0"), ("DEL", "lower"),
]


def test_an_aof_replays_as_in_redis(tmp_path: Path) -> None:
    dirs = []
    for name in ("node", "ref"):
        folder = tmp_path / name / "appendonlydir"
        folder.mkdir(parents=True)
        (folder / "appendonly.aof.1.base.aof").write_bytes(b"")
        (folder / "appendonly.aof.1.incr.aof").write_bytes(
            b"".join(resp(*argv) for argv in AOF_COMMANDS))
        (folder / "appendonly.aof.manifest").write_text(
            "file appendonly.aof.1.base.aof seq 1 type b\n"
            "file appendonly.aof.1.incr.aof seq 1 type i\n")
        dirs.append(str(tmp_path / name))
    node = start_node("--dir", dirs[0], "--appendonly", "yes")
    ref = start_redis_server("--dir", dirs[1], "--appendonly", "yes")
    try:
        for db in (0, 2):
            keys = sorted(client(ref, db).keys())
            assert sorted(client(node, db).keys()) == keys
            for key in keys:
                assert (client(node, db).execute_command("DEBUG", "DIGEST-VALUE", key)
                        == client(ref, db).execute_command("DEBUG", "DIGEST-VALUE", key)), key
        assert client(node).execute_command("DEBUG", "DIGEST") == client(ref).execute_command(
            "DEBUG", "DIGEST")
        assert client(node, 2).pttl("l") > 0
    finally:
        check_footprint(node)
        node.stop()
        ref.stop()


def test_a_corrupt_listpack_in_a_file_without_checksum_fails_its_reads(tmp_path: Path) -> None:
    bad = b"\x0d\x00\x00\x00\x02\x00\x81f\x05\x81v\x02\xff"  # "f" with a wrong back-length
    good = b"\x0d\x00\x00\x00\x02\x00\x81f\x02\x81v\x02\xff"
    (tmp_path / "dump.rdb").write_bytes(b"REDIS0010\xfe\x00\x10\x03bad\x0d" + bad
                                        + b"\x10\x04good\x0d" + good + b"\xff" + bytes(8))
    node = start_node("--dir", str(tmp_path))
    try:
        c = client(node)
        assert c.dbsize() == 2
        for _ in range(2):
            with pytest.raises(redis.ResponseError, match="loaded from a corrupt snapshot"):
                c.hgetall("bad")
        assert c.hgetall("good") == {b"f": b"v"}
    finally:
        node.stop()
