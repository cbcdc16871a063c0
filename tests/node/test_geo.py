"""Geo commands: replies and errors byte-compared with redis-server 7.0 in RESP2 and RESP3
(scores, hashes, 17-digit coordinates, 4-decimal distances, search order), random
searches near the poles, the antimeridian and the equator, and geo sets as zsets
(DUMP/RESTORE both ways, replication of GEOADD as ZADD and of the STORE forms)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

import pytest
import redis
from differential import Request, retrailer
from nodes import ServerProcess, start_redis_server
from resp import RawClient

LAT_MAX = 85.05112878


def run(port: int, script: Sequence[Request], resp3: bool) -> list[bytes]:
    with RawClient(port) as c:
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        return [c.call(*req) for req in script]


def same(node: ServerProcess, reference: ServerProcess, script: Sequence[Request]) -> None:
    """The script gives byte-identical replies on both servers, in RESP2 and in RESP3."""
    for resp3 in (False, True):
        ours = run(node.port, script, resp3)
        theirs = run(reference.port, script, resp3)
        for req, mine, ref in zip(script, ours, theirs, strict=True):
            assert mine == ref, f"resp3={resp3} {req!r}: redslot {mine!r} != redis-server {ref!r}"


SICILY = ("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
          "Catania", "0", "0", "zero", "180", str(LAT_MAX), "corner", "-180", str(-LAT_MAX), "other")


# --- GEOADD ---

def test_geoadd_stores_redis_scores_and_counts_like_zadd(node, reference):
    same(node, reference, [
        SICILY, ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"), ("TYPE", "Sicily"),
        ("OBJECT", "ENCODING", "Sicily"),
        ("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"),
        ("GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo", "15", "37", "Catania"),
        ("GEOADD", "Sicily", "NX", "1", "1", "Palermo", "2", "2", "new"),
        ("GEOADD", "Sicily", "XX", "1", "1", "Palermo", "2", "2", "new2"),
        ("GEOADD", "Sicily", "xx", "ch", "3", "3", "Palermo"),
        ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"),
        ("GEOADD", "missing", "XX", "1", "1", "a"), ("EXISTS", "missing"),
    ])


def test_geoadd_errors(node, reference):
    same(node, reference, [
        ("GEOADD", "k", "200", "1", "a"), ("GEOADD", "k", "-180.0001", "1", "a"),
        ("GEOADD", "k", "1", "85.05112879", "a"), ("GEOADD", "k", "1", "-85.0511288", "a"),
        ("GEOADD", "k", "1e300", "1", "a"), ("GEOADD", "k", "inf", "1", "a"),
        ("GEOADD", "k", "-inf", "1", "a"), ("GEOADD", "k", "nan", "1", "a"),
        ("GEOADD", "k", "x", "1", "a"), ("GEOADD", "k", "1", " 1", "a"),
        ("GEOADD", "k", "1", "1", "a", "500", "1", "b"), ("EXISTS", "k"),
        ("GEOADD", "k", "NX", "XX", "1", "1", "a"), ("GEOADD", "k", "1", "1"),
        ("GEOADD", "k", "ch", "1", "2"), ("GEOADD", "k", "ch", "ch", "ch"),
        ("GEOADD", "k", "GT", "1", "1", "a"), ("GEOADD", "k"), ("SET", "s", "v"),
        ("GEOADD", "s", "1", "1", "a"), ("GEOPOS", "s", "a"), ("GEODIST", "s", "a", "b"),
        ("GEOHASH", "s", "a"), ("GEOSEARCH", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"),
    ])


# --- GEOPOS, GEODIST, GEOHASH ---

def test_geopos_geohash_geodist_of_members(node, reference):
    same(node, reference, [
        SICILY, ("GEOPOS", "Sicily", "Palermo", "Catania", "zero", "corner", "other", "nope"),
        ("GEOPOS", "nokey", "a", "b"),
        ("GEOHASH", "Sicily", "Palermo", "Catania", "zero", "corner", "other", "nope"),
        ("GEOHASH", "nokey", "a"),
        ("GEODIST", "Sicily", "Palermo", "Catania"), ("GEODIST", "Sicily", "Palermo", "Catania", "km"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "MI"), ("GEODIST", "Sicily", "Palermo", "Catania", "ft"),
        ("GEODIST", "Sicily", "Palermo", "Palermo"), ("GEODIST", "Sicily", "corner", "other"),
        ("GEODIST", "Sicily", "zero", "corner", "M"), ("GEODIST", "Sicily", "Palermo", "nope"),
        ("GEODIST", "nokey", "a", "b"), ("GEODIST", "Sicily", "Palermo", "Catania", "yd"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "km", "x"),
    ])


def test_any_score_decodes_as_redis_casts_it(node, reference):
    """Scores a zset may hold that GEOADD never writes (negative, huge, infinite)."""
    same(node, reference, [
        ("ZADD", "w", "-1.5", "a", "1e30", "b", "-inf", "c", "inf", "d", "1e19", "e", "-1e19", "f",
         "3e15", "g", "4503599627370496", "h", "0.5", "i", "-0", "j"),
        ("GEOPOS", "w", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"),
        ("GEOHASH", "w", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"),
        ("GEODIST", "w", "a", "g"), ("GEODIST", "w", "c", "h", "km"),
        ("GEOSEARCH", "w", "FROMMEMBER", "c", "BYRADIUS", "30000", "km", "WITHHASH", "WITHCOORD"),
    ])


# --- searches ---

def test_search_options_and_reply_shapes(node, reference):
    search = ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37")
    same(node, reference, [
        SICILY,
        (*search, "BYRADIUS", "200", "km"), (*search, "BYRADIUS", "200", "km", "WITHDIST"),
        (*search, "BYRADIUS", "200", "km", "WITHCOORD", "WITHHASH", "WITHDIST", "DESC"),
        (*search, "BYBOX", "400", "400", "km", "ASC", "WITHCOORD"),
        (*search, "BYBOX", "400", "40", "km", "WITHDIST"),
        (*search, "BYRADIUS", "200", "km", "COUNT", "1"), (*search, "BYRADIUS", "200", "km", "COUNT", "1", "DESC"),
        (*search, "BYRADIUS", "200", "km", "COUNT", "1", "ANY"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "100", "mi", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "frommember", "Palermo", "bybox", "1000", "10", "FT"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "0", "m", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYBOX", "0", "0", "m", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1e300", "km", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1e300", "1e300", "km", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "-165", "-37", "BYRADIUS", "20000", "km", "WITHDIST"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "COUNT", "1"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "DESC"),
        ("GEORADIUSBYMEMBER_RO", "Sicily", "Catania", "200", "km", "WITHDIST", "COUNT", "2", "ANY"),
        ("GEORADIUS", "nokey", "15", "37", "200", "km"),
        ("GEORADIUSBYMEMBER", "nokey", "x", "-200", "parsecs"),
    ])


def test_search_errors(node, reference):
    s = ("GEOSEARCH", "Sicily")
    same(node, reference, [
        SICILY,
        (*s, "FROMMEMBER", "nope", "BYRADIUS", "1", "km"), (*s, "BYRADIUS", "1", "km"),
        ("geosearch", "Sicily", "FROMMEMBER", "Palermo"), ("GeoSearch", "Sicily", "BYBOX", "1", "1", "m"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "ANY"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "-1", "km"), (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "x", "km"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "nan", "km"),
        (*s, "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "km"), (*s, "FROMMEMBER", "Palermo", "BYBOX", "1", "y", "km"),
        (*s, "FROMMEMBER", "Palermo", "BYBOX", "-1", "1", "km"), (*s, "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "kmx"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "0"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "-3"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "x"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "x"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STOREDIST"),
        (*s, "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"),
        (*s, "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"),
        (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"),
        (*s, "FROMLONLAT", "181", "1", "BYRADIUS", "1", "km"), (*s, "FROMLONLAT", "1", "x", "BYRADIUS", "1", "km"),
        (*s, "FROMLONLAT", "1", "BYRADIUS", "1", "km"), (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1"),
        (*s, "FROMMEMBER", "Palermo", "BYBOX", "1", "1"), (*s, "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "bogus"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "WITHDIST"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "x"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "BYRADIUS", "1", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d", "WITHDIST"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHHASH", "STOREDIST", "d"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "FROMMEMBER", "Palermo"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "d"),
        ("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "STOREDIST", "d"),
        ("GEORADIUS", "Sicily", "200", "37", "200", "km"), ("GEORADIUS", "Sicily", "15", "37", "-1", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "furlong"), ("GEORADIUS", "Sicily", "15", "37", "x", "km"),
        ("GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "ANY"),
        ("GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "d", "WITHDIST"),
        ("GEORADIUS", "Sicily", "15", "37"), ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo"),
    ])


def test_store_forms_write_zsets_and_delete_on_empty_results(node, reference):
    same(node, reference, [
        SICILY, ("CONFIG", "SET", "zset-max-listpack-entries", "1"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "STOREDIST"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "dst"),
        ("CONFIG", "SET", "zset-max-listpack-entries", "128"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "COUNT", "1"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "dst"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"), ("ZRANGE", "d2", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "mi", "STOREDIST", "d3", "DESC"),
        ("ZRANGE", "d3", "0", "-1", "WITHSCORES"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "STORE", "d4", "STOREDIST", "d5"),
        ("EXISTS", "d4", "d5"), ("ZRANGE", "d5", "0", "-1", "WITHSCORES"),
        ("SET", "plain", "v"), ("EXPIRE", "d2", "100"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"), ("TTL", "d2"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "plain"), ("TYPE", "plain"),
        ("GEORADIUS", "Sicily", "-100", "0", "1", "km", "STORE", "d2"), ("EXISTS", "d2"),
        ("GEOSEARCHSTORE", "dst", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"), ("EXISTS", "dst"),
        ("GEORADIUSBYMEMBER", "nokey", "x", "1", "km", "STORE", "d3"), ("EXISTS", "d3"),
        ("GEOSEARCHSTORE", "dst", "plain", "FROMMEMBER", "x", "BYRADIUS", "1", "km"),
    ])


def test_ties_are_ordered_and_cut_as_redis_sorts_them(node, reference):
    """Members at one spot have equal distances: qsort keeps them in scan order, COUNT's
    partial sort (pqsort) picks and orders some of them in its own way."""
    rng = random.Random(5)
    args: list[str] = []
    for i in range(300):
        if i % 3 == 0:
            x, y = "10", "10"
        elif i % 3 == 1:
            x, y = "10.001", "10"
        else:
            x, y = "%.5f" % rng.uniform(9.9, 10.1), "%.5f" % rng.uniform(9.9, 10.1)
        args += [x, y, f"p{i}"]
    script: list[Request] = [("GEOADD", "t", *args)]
    for count in (1, 2, 5, 7, 8, 40, 41, 100, 299, 300, 400):
        for order in ("ASC", "DESC"):
            script.append(("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "20", "km",
                           order, "COUNT", str(count), "WITHDIST"))
            script.append(("GEORADIUS", "t", "10.0005", "10", "20", "km", order, "COUNT", str(count)))
        script.append(("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "20", "km",
                       "COUNT", str(count), "ANY"))
    script.append(("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "20", "km", "DESC"))
    same(node, reference, script)


# --- random searches near the edges of the map ---

_CENTERS = [(0.0, 0.0), (180.0, 0.0), (-180.0, 0.0), (179.9, LAT_MAX), (-179.9, -LAT_MAX),
            (0.0, LAT_MAX), (0.0, -LAT_MAX), (10.0, 84.9), (-170.0, -84.0), (179.99, 10.0),
            (-179.99, -10.0), (0.0, 0.001), (45.0, 66.5), (-45.0, -80.5)]
_UNITS = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.34}


def random_script(seed: int, n_points: int, n_queries: int) -> list[Request]:
    rng = random.Random(seed)

    def point() -> tuple[str, str]:
        cx, cy = rng.choice(_CENTERS)
        spread = rng.choice([0.001, 0.1, 1.0, 10.0, 100.0])
        x = max(-180.0, min(180.0, cx + rng.uniform(-spread, spread)))
        y = max(-LAT_MAX, min(LAT_MAX, cy + rng.uniform(-spread, spread)))
        if rng.random() < 0.05:
            x = rng.choice([180.0, -180.0])
        if rng.random() < 0.05:
            y = rng.choice([LAT_MAX, -LAT_MAX])
        return "%.6f" % x, "%.8f" % y

    script: list[Request] = []
    placed: list[tuple[str, str]] = []
    for key in ("g1", "g2"):
        args: list[str] = []
        for i in range(n_points):
            x, y = rng.choice(placed) if placed and rng.random() < 0.1 else point()
            placed.append((x, y))
            args += [x, y, f"m{i}"]
        script.append(("GEOADD", key, *args))
    for _ in range(n_queries):
        key = rng.choice(["g1", "g2", "g1", "none"])
        x, y = point()
        unit = rng.choice(list(_UNITS))
        meters = rng.choice([0, 1, 500, 10_000, 200_000, 1_000_000, 5_000_000, 20_000_000])
        r = "%g" % (meters / _UNITS[unit])
        options = [o for o in ("WITHDIST", "WITHHASH", "WITHCOORD") if rng.random() < 0.5]
        order = rng.choice([None, "ASC", "DESC"])
        if order:
            options.append(order)
        if rng.random() < 0.5:
            options += ["COUNT", str(rng.choice([1, 2, 3, 5, 10, 50]))]
            if rng.random() < 0.3:
                options.append("ANY")
        rng.shuffle(options)
        member = f"m{rng.randrange(n_points)}"
        other = f"m{rng.randrange(n_points)}"
        width = "%g" % (float(r) * rng.uniform(0.2, 3))
        kind = rng.randrange(6)
        if kind == 0:
            script.append(("GEOSEARCH", key, "FROMLONLAT", x, y, "BYRADIUS", r, unit, *options))
        elif kind == 1:
            script.append(("GEOSEARCH", key, "FROMLONLAT", x, y, "BYBOX", width, r, unit, *options))
        elif kind == 2:
            script.append(("GEOSEARCH", key, "FROMMEMBER", member, "BYBOX", r, width, unit, *options))
        elif kind == 3:
            script.append((rng.choice(["GEORADIUS", "GEORADIUS_RO"]), key, x, y, r, unit, *options))
        elif kind == 4:
            script.append((rng.choice(["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]), key, member, r,
                           unit, *options))
        else:
            stored = [o for o in options if not o.startswith("WITH")]
            if rng.random() < 0.5:
                script.append(("GEORADIUS", key, x, y, r, unit, *stored,
                               rng.choice(["STORE", "STOREDIST"]), "dst"))
            else:
                if rng.random() < 0.5:
                    stored.append("STOREDIST")
                script.append(("GEOSEARCHSTORE", "dst", key, "FROMLONLAT", x, y, "BYRADIUS", r, unit,
                               *stored))
            script.append(("ZRANGE", "dst", "0", "-1", "WITHSCORES"))
        if rng.random() < 0.1:
            script.append(("GEODIST", key, member, other, unit))
            script.append(("GEOPOS", key, member, other))
            script.append(("GEOHASH", key, member, other))
    return script


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("points", [20, 300])
def test_random_searches_match(node, reference, seed, points):
    same(node, reference, random_script(seed, points, 250))


# --- geo sets are zsets ---

@pytest.mark.parametrize("points", [10, 200])
def test_dump_restore_both_ways(node, reference, points):
    script = random_script(9, points, 0)[0]
    with RawClient(node.port) as ours, RawClient(reference.port) as theirs:
        for c in (ours, theirs):
            c.call("FLUSHALL")
            c.call(*script)
    rn = redis.Redis(port=node.port)
    rr = redis.Redis(port=reference.port)
    try:
        their_dump = rr.dump("g1")
        our_dump = rn.dump("g1")
        assert our_dump[:-10] == their_dump[:-10]
        rn.restore("from-redis", 0, their_dump)
        rr.restore("from-redslot", 0, retrailer(our_dump, 10))
        members = [f"m{i}" for i in range(points)]
        expected = rr.geopos("g1", *members)
        assert rn.geopos("from-redis", *members) == expected
        assert rr.geopos("from-redslot", *members) == expected
        query = ("FROMLONLAT", 0, 0, "BYRADIUS", 20000, "km", "WITHDIST", "WITHHASH", "WITHCOORD")
        assert (rn.execute_command("GEOSEARCH", "from-redis", *query)
                == rr.execute_command("GEOSEARCH", "from-redslot", *query))
    finally:
        rn.close()
        rr.close()


def test_redis_replica_receives_geoadd_as_zadd_and_the_stored_searches(node):
    replica = start_redis_server()
    m = redis.Redis(port=node.port)
    r = redis.Redis(port=replica.port)
    try:
        m.flushall()
        r.replicaof("127.0.0.1", node.port)
        deadline = time.monotonic() + 15
        while r.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r.config_resetstat()
        m.execute_command(*SICILY)
        m.execute_command("GEOADD", "Sicily", "NX", "1", "1", "Palermo")
        m.execute_command("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d1")
        m.execute_command("GEOSEARCHSTORE", "d2", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS",
                          "200", "km", "STOREDIST")
        m.execute_command("GEORADIUS", "Sicily", "15", "37", "200", "km")
        m.set("marker", "1")
        while r.get("marker") != b"1":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert m.execute_command("DEBUG", "DIGEST") == r.execute_command("DEBUG", "DIGEST")
        stats = r.info("commandstats")
        assert stats["cmdstat_zadd"]["calls"] == 1
        assert "cmdstat_geoadd" not in stats
        assert stats["cmdstat_georadius"]["calls"] == 1
        assert stats["cmdstat_geosearchstore"]["calls"] == 1
    finally:
        m.close()
        r.close()
        replica.stop()


def test_any_returns_the_first_matches_in_redis_box_order(node, reference):
    """With ANY the reply is the first COUNT matches in scan order: the boxes chosen (the
    step estimate, wider near the poles; the neighbours dropped) and their order show."""
    rng = random.Random(11)
    script: list[Request] = []
    for lon, lat in ((0.0, 0.0), (179.95, 30.0), (-20.0, 66.2), (20.0, 80.3), (-60.0, -84.9)):
        args: list[str] = []
        for i in range(400):
            x = max(-180.0, min(180.0, lon + rng.uniform(-3, 3)))
            y = max(-LAT_MAX, min(LAT_MAX, lat + rng.uniform(-3, 3)))
            args += ["%.6f" % x, "%.6f" % y, f"p{i}"]
        script.append(("GEOADD", "dense", *args))
        for km in ("1", "30", "80", "150", "400", "3000"):
            for count in ("1", "3", "10"):
                script.append(("GEOSEARCH", "dense", "FROMLONLAT", str(lon), str(lat), "BYRADIUS", km, "km",
                               "COUNT", count, "ANY"))
                script.append(("GEOSEARCH", "dense", "FROMLONLAT", str(lon), str(lat), "BYBOX", km, km, "km",
                               "COUNT", count, "ANY", "WITHDIST"))
        script.append(("DEL", "dense"))
    same(node, reference, script)


def test_shapes_include_their_exact_boundary_and_nothing_past_it(node, reference):
    """Radii, widths and heights set to a member's exact distance (in meters, as this
    module's port of Redis computes it) and to the next double below: the first search
    finds the member, the second does not, on both servers."""
    from redslot.node.types.geohash import distance, lat_distance, position, score_of

    rng = random.Random(17)
    center = (12.5, 41.9)
    script: list[Request] = []
    args: list[str] = []
    members = []
    for i in range(6):
        lon = center[0] + rng.uniform(-0.2, 0.2)
        lat = center[1] + rng.uniform(-0.2, 0.2)
        args += [repr(lon), repr(lat), f"b{i}"]
        members.append(position(float(score_of(lon, lat))))
    script.append(("GEOADD", "edge", *args))
    origin = ("GEOSEARCH", "edge", "FROMLONLAT", repr(center[0]), repr(center[1]))
    below = lambda x: repr(math.nextafter(x, 0.0))  # noqa: E731
    for lon, lat in members:
        d = distance(center[0], center[1], lon, lat)
        script += [(*origin, "BYRADIUS", repr(d), "m"), (*origin, "BYRADIUS", below(d), "m")]
        height = 2 * lat_distance(lat, center[1])
        width = 2 * distance(lon, lat, center[0], lat)
        script += [(*origin, "BYBOX", repr(width), repr(height), "m"),
                   (*origin, "BYBOX", repr(width), below(height), "m"),
                   (*origin, "BYBOX", below(width), repr(height), "m")]
    same(node, reference, script)


def test_writes_count_changes_as_redis_does(node, reference):
    """rdb_changes_since_last_save: GEOADD counts each added or moved member, a STORE
    each stored member, a deleted destination one."""
    steps = [("GEOADD", "g", "1", "1", "a", "2", "2", "b", "3", "3", "c"),
             ("GEOADD", "g", "CH", "1", "1", "a", "5", "5", "b"),
             ("GEORADIUS", "g", "1", "1", "1000", "km", "STORE", "d"),
             ("GEOSEARCHSTORE", "e", "g", "FROMMEMBER", "a", "BYRADIUS", "1000", "km", "COUNT", "2"),
             ("GEOSEARCHSTORE", "e", "g", "FROMLONLAT", "-50", "-50", "BYRADIUS", "1", "km"),
             ("GEORADIUS", "g", "1", "1", "1000", "km")]
    counts = []
    for server in (node, reference):
        r = redis.Redis(port=server.port)
        r.flushall()
        r.save()
        seen = []
        for step in steps:
            r.execute_command(*step)
            seen.append(r.info("persistence")["rdb_changes_since_last_save"])
        counts.append(seen)
        r.close()
    assert counts[0] == counts[1]
