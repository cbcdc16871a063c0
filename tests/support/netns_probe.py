"""Run inside a network namespace: start a node on a non-loopback address and report replies.

Used by test_network.py; prints one JSON object: what a client connecting from the
namespace's own non-loopback address, and one on loopback, received.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time

ADDRESS = "192.0.2.1"  # TEST-NET-1: documentation range, only inside our own namespace


def first_reply(host: str, port: int, request: bytes) -> str:
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode()


def main() -> None:
    port = int(sys.argv[1])
    directives = sys.argv[2:]
    workdir = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [sys.executable, "-m", "redslot.cli", "node", "--port", str(port), "--bind",
         f"{ADDRESS} 127.0.0.1", "--dir", workdir, *directives],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                first_reply("127.0.0.1", port, b"PING\r\n")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        result = {
            "outside": first_reply(ADDRESS, port, b"PING\r\n"),
            "loopback": first_reply("127.0.0.1", port, b"PING\r\n"),
        }
    finally:
        proc.terminate()
        proc.wait(10)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
