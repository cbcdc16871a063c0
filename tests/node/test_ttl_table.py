"""The keyspace's TTL table (keyspace/ttls.py) against a model: each key's code in the index
says where its time is, and writes, deletes, expiries, PERSIST, load and SWAPDB keep the
codes, the sampled positions and the times in step."""

from __future__ import annotations

import random

from redslot.node.base.keyindex import POS_MASK
from redslot.node.keyspace.database import Database, now_ms
from redslot.node.keyspace.stats import KeyspaceStats
from redslot.node.keyspace.ttls import TTL_SHIFT

FUTURE = now_ms() + 10**9


def check(db: Database, model: dict[bytes, int | None]) -> None:
    """The database holds exactly ``model`` (key -> expiry or None), and its tables agree."""
    assert len(db) == len(model)
    assert sorted(db.index) == sorted(model)
    for key, when in model.items():
        assert db.get_expire(key) == (-1 if when is None else when)
        assert (key in db.expires) == (when is not None)
        assert db.raw(key) == key  # each test key holds its own name
    expires = db.expires
    assert len(expires) == sum(when is not None for when in model.values())
    for slot, pos in enumerate(expires.positions()):
        key = db.kv[2 * pos]
        assert db.index[key] == pos | (slot + 1) << TTL_SHIFT
        assert expires.table[2 * slot + 1] == model[key]
    for key, code in db.index.items():
        assert db.kv[2 * (code & POS_MASK)] == key
    assert set(expires.sample(50)) <= {k for k, w in model.items() if w is not None}


def step(db: Database, model: dict[bytes, int | None], rng: random.Random) -> None:
    key = b"k%d" % rng.randrange(40)
    op = rng.randrange(7)
    if op == 0:
        db.set(key, key)
        model[key] = None
    elif op == 1 and key in model:
        db.set(key, key, keep_ttl=True)
    elif op == 2 and key in model:
        when = FUTURE + rng.randrange(1000)
        db.set_expire(key, when)
        model[key] = when
    elif op == 3:
        assert db.persist(key) == (model.get(key) is not None)
        if key in model:
            model[key] = None
    elif op == 4:
        assert db.delete(key) == (key in model)
        model.pop(key, None)
    elif op == 5 and key in model:  # past its TTL: the next read deletes it
        db.set_expire(key, now_ms() - 1)
        assert db.lookup_read(key) is None
        del model[key]
    elif op == 6 and key not in model:
        db.add(key, key)
        model[key] = None


def test_ttl_codes_follow_every_write_and_delete():
    for seed in range(20):
        rng = random.Random(seed)
        db = Database(0, KeyspaceStats())
        model: dict[bytes, int | None] = {}
        for _ in range(600):
            step(db, model, rng)
            check(db, model)


def test_swapdb_and_flush_carry_the_ttl_tables():
    stats = KeyspaceStats()
    one, two = Database(0, stats), Database(1, stats)
    one.add(b"a", b"a")
    one.set_expire(b"a", FUTURE)
    two.add(b"b", b"b")
    one.swap_with(two)
    check(one, {b"b": None})
    check(two, {b"a": FUTURE})
    two.add(b"c", b"c")  # the swapped tables still belong together
    two.set_expire(b"c", FUTURE + 1)
    check(two, {b"a": FUTURE, b"c": FUTURE + 1})
    two.flush()
    check(two, {})
    two.add(b"d", b"d")
    two.set_expire(b"d", FUTURE)
    check(two, {b"d": FUTURE})


def test_a_refused_load_run_keeps_the_ttls_it_found():
    db = Database(0, KeyspaceStats())
    for key in (b"x", b"y", b"z"):
        db.add(key, key)
    db.set_expire(b"y", FUTURE)
    db.set_expire(b"z", FUTURE + 1)
    assert not db.load_run([b"n", b"n", b"z", b"z"])  # z is there already
    check(db, {b"x": None, b"y": FUTURE, b"z": FUTURE + 1})
    assert db.load_run([b"n", b"n"])
    check(db, {b"x": None, b"y": FUTURE, b"z": FUTURE + 1, b"n": None})


def test_packed_values_rebuilt_under_a_ttl_keep_it_and_their_neighbours(pair):
    """A small hash, sorted set or set is rebuilt on each write and put back in its key's
    place (Database.replace): the place is found through the key's code, TTL bits and all,
    and the key keeps its TTL while its neighbours keep their values, as in Redis."""
    for client in pair:
        for i in range(50):
            client.set(f"before:{i}", i)
        client.hset("h", "a", "1")
        client.zadd("z", {"a": 1})
        client.sadd("s", "a")
        for key in ("h", "z", "s"):
            client.pexpire(key, 10**9)
        for i in range(50):
            client.set(f"after:{i}", i, px=10**9)
        client.hset("h", mapping={"b": "2", "c": "3"})
        client.zadd("z", {"b": 2, "c": 3})
        client.sadd("s", "b", "c")
        client.hdel("h", "a")
        client.zrem("z", "a")
        client.srem("s", "a")
    mine, ref = pair
    for client in pair:
        assert client.hgetall("h") == {b"b": b"2", b"c": b"3"}
        assert client.zrange("z", 0, -1, withscores=True) == [(b"b", 2.0), (b"c", 3.0)]
        assert client.smembers("s") == {b"b", b"c"}
        assert all(0 < client.pttl(key) <= 10**9 for key in ("h", "z", "s"))
        assert [client.get(f"before:{i}") for i in range(50)] == [b"%d" % i for i in range(50)]
        assert [client.get(f"after:{i}") for i in range(50)] == [b"%d" % i for i in range(50)]
    for key in ("h", "z", "s"):
        assert mine.object("encoding", key) == ref.object("encoding", key)
