"""Run inside the cut-off master's network namespace: a client that still reaches it.

Adds elements 0, 1, 2, ... to one set (SADD, one request at a time), saying "writing" once
the first is acknowledged, until the master has refused with CLUSTERDOWN for ``hold``
seconds or ``limit`` seconds have passed; then prints one JSON object: the elements acknowledged, monotonic times (shared by every namespace of the
machine) of the first CLUSTERDOWN, of the last acknowledgement and of the sending of the
last request the master took (acknowledged or not), and any other replies seen (NOACK:
outcome unknown).
"""

from __future__ import annotations

import json
import socket
import sys
import time


def main() -> None:
    host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    limit, hold = float(sys.argv[4]), float(sys.argv[5])
    acked: list[list[float]] = []  # [element, when acknowledged]
    others: dict[str, int] = {}
    first_down = last_ack = last_accepted_sent = 0.0
    deadline = time.monotonic() + limit
    with socket.create_connection((host, port), timeout=5) as s:
        reader = s.makefile("rb")
        element = 0
        while time.monotonic() < deadline:
            member = str(element).encode()
            sent = time.monotonic()
            s.sendall(b"*3\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                len(key), key.encode(), len(member), member))
            line = reader.readline().decode().strip()
            now = time.monotonic()
            if not line.startswith("-CLUSTERDOWN"):
                last_accepted_sent = sent
            if line in (":1", ":0"):
                if not acked:
                    print("writing", flush=True)
                acked.append([element, now])
                last_ack = now
            elif line.startswith("-CLUSTERDOWN"):
                first_down = first_down or now
                if now - first_down >= hold:
                    break
                time.sleep(0.01)
            else:
                others[line] = others.get(line, 0) + 1
            element += 1
    print(json.dumps({"acked": acked, "first_down": first_down, "last_ack": last_ack,
                      "last_accepted_sent": last_accepted_sent, "others": others}))


if __name__ == "__main__":
    main()
