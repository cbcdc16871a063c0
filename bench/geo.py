#!/usr/bin/env python3
"""Geo command throughput of a redslot node against Debian's redis-server, in one run.

Set up as bench/run.py does (both servers pinned to one core inside the same CPU quota,
redis-benchmark pinned to the other core, runs interleaved, medians of --repeat runs).

- geoadd: GEOADD of one random point among 1,000 members (redis-benchmark fills each
  ``__rand_int__`` with 12 random zero-padded digits: ``0.<digits>e9`` is a coordinate
  in [0, 1) degree, so the points spread over a 1 x 1 degree square).
- geosearch_all: GEOSEARCH BYRADIUS 10 km around the centre of a 1,000-point set whose
  points all lie within 5 km: every search scans and returns the 1,000 members.
- geosearch_count10: the same search with ASC COUNT 10 WITHDIST (the nearest ten).
- geosearch_box: BYBOX 6 x 6 km, ASC COUNT 10 WITHCOORD (part of the set matches).

    python3 bench/geo.py           # the figures (a few minutes on 2 cores)
    python3 bench/geo.py --quick   # a tiny smoke run
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, servers, write_json
from datatypes import pipe, resp, run_command
from run import CpuQuota, tools_present

SET_KEY = "geo:1000"
CENTER = (13.361389, 38.115556)
POINTS = 1000


def points_protocol(seed: int = 1) -> bytes:
    """GEOADD of POINTS members spread uniformly over a 5 km disc around CENTER."""
    rng = random.Random(seed)
    args = [b"GEOADD", SET_KEY.encode()]
    lon0, lat0 = CENTER
    for i in range(POINTS):
        r = 5000 * math.sqrt(rng.random()) * 0.999
        t = rng.uniform(0, 2 * math.pi)
        lat = lat0 + r * math.sin(t) / 111_320
        lon = lon0 + r * math.cos(t) / (111_320 * math.cos(math.radians(lat0)))
        args += [b"%.6f" % lon, b"%.6f" % lat, b"p:%04d" % i]
    return resp(*args)


SEARCH = ("GEOSEARCH", SET_KEY, "FROMLONLAT", str(CENTER[0]), str(CENTER[1]))
TESTS = {
    "geoadd": (1000, ("GEOADD", "geo:add", "0.__rand_int__e9", "0.__rand_int__e9", "m:__rand_int__")),
    "geosearch_all": (1, (*SEARCH, "BYRADIUS", "10", "km")),
    "geosearch_count10": (1, (*SEARCH, "BYRADIUS", "10", "km", "ASC", "COUNT", "10", "WITHDIST")),
    "geosearch_box": (1, (*SEARCH, "BYBOX", "6", "6", "km", "ASC", "COUNT", "10", "WITHCOORD")),
}


def check_same_replies(ports: dict[str, int]) -> None:
    """Both servers hold the same set and give the same search replies (else no figure)."""
    replies = []
    for kind in KINDS:
        r = redis.Redis(port=ports[kind])
        if r.zcard(SET_KEY) != POINTS:
            raise RuntimeError(f"{kind}: the geo set did not load")
        replies.append([r.execute_command(*command) for name, (_, command) in TESTS.items()
                        if name != "geoadd"])
    if replies[0] != replies[1]:
        raise RuntimeError("redis-server and redslot reply differently to the searches")
    if len(replies[0][0]) != POINTS:
        raise RuntimeError("the radius search does not return every point")


def throughput_run(port: int, pipeline: int, args: argparse.Namespace) -> dict[str, float]:
    figures = {}
    for name, (keyspace, command) in TESTS.items():
        requests = args.requests if name == "geoadd" else args.search_requests
        figures[name] = run_command(port, pipeline, requests, args.clients, keyspace, *command)
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, requests=100_000)
    ap.add_argument("--search-requests", type=int, default=5_000, help="requests per search run (-n)")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.search_requests, args.clients, args.repeat = 500, 200, 5, 1
    if not tools_present("redis-cli"):
        return 2
    pipelines = pipelines_of(args)
    quota = CpuQuota(args.cpu_share)
    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            protocol = points_protocol()
            for kind in KINDS:
                pipe(ports[kind], protocol)
            check_same_replies(ports)
            results = measure(ports, pipelines, args.repeat,
                              lambda port, pipeline: throughput_run(port, pipeline, args))
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients}; -n {args.requests} (geoadd), "
          f"{args.search_requests} (searches of a {POINTS:,}-point set)")
    write_json(args, results, ratio_table(results, pipelines, 18))
    return 0

if __name__ == "__main__":
    sys.exit(main())
