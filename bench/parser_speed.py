#!/usr/bin/env python3
"""The request parser's cost per read, in process: redis-benchmark's SET and GET requests
as one read of -P 1 and of -P 16, fed to a fresh parser state (protocol/_resp.c's C path
when built), and the same read split in two (the request cut in two goes through the exact
parser, the rest through the C path). Microseconds of this thread's CPU time per read
(wall time on a loaded machine counts other processes' slices), best of --repeat.

Run it under two PYTHONPATHs (two trees) to compare parser versions: the figures come
from the same code path the node runs per read, without the node's other costs and noise.

    python3 bench/parser_speed.py
"""

from __future__ import annotations

import argparse
import time
import timeit

from redslot.node.protocol.request import RequestParser


def reads() -> dict[str, bytes]:
    key = b"key:000000012345"
    set_req = b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$3\r\nxxx\r\n" % key
    get_req = b"*2\r\n$3\r\nGET\r\n$16\r\n%s\r\n" % key
    return {"set -P 1": set_req, "set -P 16": set_req * 16,
            "get -P 1": get_req, "get -P 16": get_req * 16}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--number", type=int, default=20000, help="reads per round")
    ap.add_argument("--repeat", type=int, default=7, help="rounds; the best is kept")
    args = ap.parse_args()
    parser = RequestParser()
    print(f"{'read':10} {'whole read us':>13} {'split read us':>14}")
    for name, data in reads().items():
        assert parser.feed(data) and parser.error is None
        fast = min(timeit.repeat(lambda d=data: parser.feed(d), number=args.number,
                                 repeat=args.repeat, timer=time.thread_time)) / args.number * 1e6
        half = len(data) // 2
        first, second = data[:half], data[half:]

        def split(a: bytes = first, b: bytes = second) -> None:
            parser.feed(a)
            parser.feed(b)

        slow = min(timeit.repeat(split, number=args.number // 4, repeat=args.repeat,
                                 timer=time.thread_time)) / (args.number // 4) * 1e6
        print(f"{name:10} {fast:>13.2f} {slow:>14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
