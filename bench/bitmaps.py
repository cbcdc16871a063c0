#!/usr/bin/env python3
"""Bitmap throughput of a redslot node against Debian's redis-server, in one run.

The servers are set up as in bench/run.py (whose pieces this reuses): both pinned to one
core inside the same CPU quota, the load on the other core, both servers up together and
their runs interleaved, medians of --repeat runs. Each server holds two 1 MB bitmaps: a
dense one of random bytes and a sparse one with only its last bit set.

- BITCOUNT of the whole dense bitmap and of the whole sparse one, and BITPOS of the
  sparse one's only set bit (a full scan), with redis-benchmark.
- SETBIT at random offsets of the dense bitmap, to random values (so about half the
  requests change a bit). redis-benchmark cannot draw a bit offset (its ``__rand_int__``
  is zero-padded, which Redis refuses as an integer), so a small client here sends the
  same seeded requests to both servers, ``--pipeline`` at a time on one connection; the
  requests are encoded beforehand and the client only counts reply bytes.

    python3 bench/bitmaps.py           # the figures (about a minute)
    python3 bench/bitmaps.py --quick   # a tiny smoke run
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import time
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, write_json
from datatypes import run_command
from run import CLIENT_CPU, CpuQuota, server, tools_present

BITMAP = b"bitmap"
SPARSE = b"sparse"
BITMAP_BYTES = 1024 * 1024
BITMAP_BITS = 8 * BITMAP_BYTES
SETBIT_REPLY_BYTES = 4  # ":0\r\n" or ":1\r\n"


def setbit_requests(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        offset = b"%d" % rng.randrange(BITMAP_BITS)
        bit = b"1" if rng.random() < 0.5 else b"0"
        out.append(b"*4\r\n$6\r\nSETBIT\r\n$6\r\nbitmap\r\n$%d\r\n%s\r\n$1\r\n%s\r\n"
                   % (len(offset), offset, bit))
    return out


def setbit_rate(port: int, requests: list[bytes], pipeline: int) -> float:
    """Requests per second for ``requests`` sent ``pipeline`` at a time, replies awaited
    batch by batch."""
    batches = [b"".join(requests[i:i + pipeline]) for i in range(0, len(requests), pipeline)]
    expected = [SETBIT_REPLY_BYTES * min(pipeline, len(requests) - i)
                for i in range(0, len(requests), pipeline)]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        begin = time.perf_counter()
        for batch, size in zip(batches, expected, strict=True):
            sock.sendall(batch)
            got = 0
            while got < size:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError(f"port {port} closed the connection")
                got += len(chunk)
        elapsed = time.perf_counter() - begin
    return len(requests) / elapsed


def prepare(ports: dict[str, int]) -> None:
    """The same dense and sparse 1 MB bitmaps on both servers."""
    dense = random.Random(2).randbytes(BITMAP_BYTES)
    for kind in KINDS:
        r = redis.Redis(port=ports[kind])
        r.flushall()
        r.set(BITMAP, dense)
        r.setbit(BITMAP, 0, 1)
        r.setbit(SPARSE, BITMAP_BITS - 1, 1)
        if r.strlen(BITMAP) != BITMAP_BYTES or r.bitcount(SPARSE) != 1:
            raise RuntimeError(f"{kind}: the bitmaps did not build as expected")


def throughput_run(port: int, pipeline: int, args: argparse.Namespace,
                   setbits: list[bytes]) -> dict[str, float]:
    dense, sparse = BITMAP.decode(), SPARSE.decode()
    figures = {
        "bitcount": run_command(port, pipeline, args.requests, args.clients, 1, "BITCOUNT", dense),
        "bitcount_sparse": run_command(port, pipeline, args.requests, args.clients, 1,
                                       "BITCOUNT", sparse),
        "bitpos": run_command(port, pipeline, args.requests, args.clients, 1, "BITPOS", sparse, "1"),
        "setbit": setbit_rate(port, setbits, pipeline),
    }
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, requests=20_000)
    ap.add_argument("--setbits", type=int, default=200_000, help="SETBIT requests per run")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.setbits, args.clients, args.repeat = 500, 2000, 5, 1
    if not tools_present():
        return 2
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    pipelines = pipelines_of(args)
    setbits = setbit_requests(args.setbits, seed=1)
    quota = CpuQuota(args.cpu_share)
    try:
        with ExitStack() as stack:
            ports = {kind: stack.enter_context(server(kind, quota)) for kind in KINDS}
            prepare(ports)
            results = measure(ports, pipelines, args.repeat,
                              lambda port, pipeline: throughput_run(port, pipeline, args, setbits))
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; 1 MB bitmaps; bitcount/bitpos: redis-benchmark "
          f"-c {args.clients} -n {args.requests}; setbit: {args.setbits:,} random offsets, "
          "one connection")
    write_json(args, results, ratio_table(results, pipelines, 16))
    return 0

if __name__ == "__main__":
    sys.exit(main())
