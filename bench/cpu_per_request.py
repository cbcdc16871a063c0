#!/usr/bin/env python3
"""CPU time per request of redis-server, a redslot node and a do-nothing uvloop server.

Each server runs pinned to one core without a quota, redis-benchmark (``-c 50``) on the
other; the CPU the server process used over a run (utime + stime), divided by the
requests, is a figure the machine's noise moves much less than throughput. The third
server is the floor of the node's design: a uvloop protocol that answers each read with
one null bulk per request in it, written straight to the socket as the node writes its
replies. What the node uses above it is its own work (parsing, dispatch, the command,
the bookkeeping); what the floor uses above redis-server is the event loop's.

    python3 bench/cpu_per_request.py                    # GET and SET, -P 1, 3 runs each
    python3 bench/cpu_per_request.py --tests get,lpush --pipeline 16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from nodes import free_port, wait_for_ping  # noqa: E402
from run import CLIENT_CPU, SERVER_CPU, server_process, tools_present  # noqa: E402


class Floor(asyncio.Protocol):
    """One null bulk per request in each read (redis-benchmark counts replies only; an
    inline request, the start's PING, gets one too)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.fd = transport.get_extra_info("socket").fileno()

    def data_received(self, data: bytes) -> None:
        os.write(self.fd, b"$-1\r\n" * max(1, data.count(b"*")))


async def serve_floor(port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_server(Floor, "127.0.0.1", port, backlog=511)
    await asyncio.Event().wait()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_floor() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, sys.executable, __file__, "--floor",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_ping(port, proc)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", default="get,set")
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--floor", type=int, help=argparse.SUPPRESS)  # run the floor server
    args = ap.parse_args()
    if args.floor:
        import uvloop
        uvloop.run(serve_floor(args.floor))
        return 0
    if not tools_present():
        return 2
    kinds = ("redis-server", "redslot", "uvloop floor")
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    with ExitStack() as stack:
        procs["redis-server"] = stack.enter_context(server_process("redis", None))
        procs["redslot"] = stack.enter_context(server_process("redslot", None))
        procs["uvloop floor"] = floor = start_floor()
        stack.callback(stop, floor[0])
        used: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}
        for i in range(args.repeat):
            for test in args.tests.split(","):
                for kind in (kinds if i % 2 == 0 else kinds[::-1]):
                    proc, port = procs[kind]
                    before = cpu_seconds(proc.pid)
                    subprocess.run(["taskset", "-c", CLIENT_CPU, "redis-benchmark", "-p", str(port),
                                    "-c", "50", "-n", str(args.requests), "-P",
                                    str(args.pipeline), "-r", "100000", "-t", test, "-q"],
                                   check=True, capture_output=True, timeout=600)
                    spent = (cpu_seconds(proc.pid) - before) / args.requests * 1e6
                    used[kind].setdefault(test, []).append(spent)
        print(f"CPU microseconds per request, median of {args.repeat} (-c 50 -P "
              f"{args.pipeline} -n {args.requests}); ratios are redis-server's over each")
        print(f"{'test':6} " + " ".join(f"{k:>14}" for k in kinds)
              + f" {'redslot':>8} {'floor':>6}")
        for test in args.tests.split(","):
            med = {k: statistics.median(used[k][test]) for k in kinds}
            ref = med["redis-server"]
            print(f"{test:6} " + " ".join(f"{med[k]:>14.2f}" for k in kinds)
                  + f" {ref / med['redslot']:>8.2f} {ref / med['uvloop floor']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
