"""The request parser against redis-server: malformed frames, huge headers, inline splitting
(sdssplitargs), and one client unable to stall or blow up the node (issue 23)."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nodes import ServerProcess, start_node, start_redis_server
from protocol_fuzz import HUGE_HEADERS, MALFORMED, batch, inline_tail
from resp import RawClient

SUPPORT = Path(__file__).resolve().parent.parent / "support"
QUIET = 0.25  # silence after which a server is taken to wait for more input


def transcript(port: int, payload: bytes) -> tuple[bytes, bool]:
    """What the server answers to ``payload`` and whether it closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        sock.settimeout(QUIET)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk


FRAMES = [
    *MALFORMED,
    *HUGE_HEADERS,
    b"PING\r\nPING a\0b\r\nPING\r\n",  # a NUL before the newline: no line yet, as strchr sees it
    b"\0PING\r\n", b"*\0\r\n", b"*1\r\n$\0\r\n", b"*1\r\n$4\r\nPI\0G\r\n",
    b"*1\r\n\xff\r\n", b"*1\r\nX\r\n", b"*1\r\n\n", b"*1\rX$4\r\nPING\r\n",
    b"*1\r\n$4\rXPINGab", b"*-9223372036854775808\r\nPING\r\n", b"*0\r\n*-1\r\nPING\r\n",
    b"*2147483648\r\n", b"*1\r\n$536870913\r\n", b"*1\r\n$9223372036854775808\r\n",
    b"*1\r\n$123456789012345678901\r\n", b"*+1\r\n", b"* 1\r\n", b"*1 \r\n",
    b"QUIT\r\n*abc\r\n", b"\r\n\r\n\nPING\r\n", b"ECHO a\vb\r\n", b"ECHO \va\r\n",
    b"ECHO \"a\"\v\r\n", b"ECHO \"a\"\fb\r\n", b"ECHO \"\\x4g\\x41\\q\"\r\n", b"ECHO 'it\\'s'\r\n",
    b"ECHO \"a\\\"\r\n", b"ECHO 'a\\\r\n", b"ECHO \"\\\"\r\n",
    b"*1\r\n" + b"x" * 70000, b"*1\r\nx\r" + b"x" * 70000, b"*" + b"1" * 70000,
    b"PING\r\n" + b"A" * 70000, b"PING a\0b\r\n" + b"A" * 70000,
    b"*2\r\n$4\r\nECHO\r\n$70000\r\n" + b"x" * 70000 + b"\r\n",
]


@pytest.mark.parametrize("payload", FRAMES, ids=[repr(f[:40]) for f in FRAMES])
def test_malformed_and_huge_frames_get_redis_answer_and_closing(node, reference, payload):
    assert transcript(node.port, payload) == transcript(reference.port, payload)


@pytest.fixture(scope="module")
def locked() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A node and a redis-server with a password: their unauthenticated limits apply."""
    node, reference = start_node("--requirepass", "pw"), start_redis_server("--requirepass", "pw")
    yield node, reference
    node.stop()
    reference.stop()


UNAUTHENTICATED = [
    b"*12\r\n", b"PING\r\n*1\r\n$20000\r\n", b"AUTH bad\r\n*11\r\n",
    b"PING\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n",
    # requests after an AUTH in the same read are parsed once it has run, as in Redis
    b"AUTH pw\r\n*11\r\n$4\r\nMGET\r\n" + b"$1\r\na\r\n" * 10,
    b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"x" * 20000 + b"\r\n",
    b"AUTH pw\r\nRESET\r\n*11\r\n",
]


@pytest.mark.parametrize("payload", UNAUTHENTICATED, ids=[repr(f[:40]) for f in UNAUTHENTICATED])
def test_unauthenticated_limits_apply_as_each_request_is_reached(locked, payload):
    node, reference = locked
    assert transcript(node.port, payload) == transcript(reference.port, payload)


def _inline_replies(port: int, lines: list[bytes]) -> list[bytes]:
    """Each line's replies up to an ECHO marker sent after it, or until the server closes."""
    replies = []
    sock: socket.socket | None = None
    for i, line in enumerate(lines):
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        marker = b"end-%d" % i
        sock.sendall(line + b"\r\nECHO " + marker + b"\r\n")
        expect = b"$%d\r\n%s\r\n" % (len(marker), marker)
        out = b""
        while not out.endswith(expect):
            chunk = sock.recv(65536)
            if not chunk:
                sock.close()
                sock = None
                out += b"<closed>"
                break
            out += chunk
        replies.append(out)
    if sock is not None:
        sock.close()
    return replies


def test_inline_splitting_matches_sdssplitargs_on_random_lines(node, reference):
    rng = random.Random(20261205)
    lines = []
    for _ in range(1500):
        tail = inline_tail(rng, rng.randrange(1, 24))
        if rng.random() < 0.1:
            tail += rng.choice([b"\r", b"\n", b"\rX"]) + inline_tail(rng, 4)
        lines.append(b'EVAL "return ARGV" 0 ' + tail)
    ours, theirs = _inline_replies(node.port, lines), _inline_replies(reference.port, lines)
    for line, a, b in zip(lines, ours, theirs, strict=True):
        assert a == b, line
    assert sum(b"Protocol error" in r for r in ours) > 50  # unbalanced quotes were tried


def test_inline_lines_with_nul_wait_like_redis_until_too_big(node, reference):
    rng = random.Random(23)
    for _ in range(12):
        tail = inline_tail(rng, 10)
        at = rng.randrange(len(tail))
        line = b"ECHO " + tail[:at] + b"\0" + tail[at:] + b"\r\nPING\r\n"
        assert transcript(node.port, line) == transcript(reference.port, line) == (b"", False)
        padded = line + b"A" * 66000
        assert transcript(node.port, padded) == transcript(reference.port, padded)


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    raise AssertionError("no VmRSS")


def _worst_ping_while(port: int, action, seconds: float = 1.0) -> float:
    """Worst PING round trip of another client while ``action`` runs, and a bit after."""
    done = threading.Event()
    worst = [0.0]

    def pinger() -> None:
        with RawClient(port) as c:
            deadline = time.monotonic() + seconds
            while not done.is_set() or time.monotonic() < deadline:
                start = time.monotonic()
                assert c.call("PING") == b"+PONG\r\n"
                worst[0] = max(worst[0], time.monotonic() - start)
                time.sleep(0.002)

    thread = threading.Thread(target=pinger)
    thread.start()
    try:
        action()
    finally:
        done.set()
        thread.join(30)
    return worst[0]


def test_huge_headers_neither_stall_other_clients_nor_grow_memory(node):
    rss_before = _rss_kb(node.proc.pid)
    held = []

    def attack() -> None:
        for payload in (*HUGE_HEADERS, b"PING\r\n*2147483647\r\n",
                        b"*1\r\n$4\r\nPING\r\n*2147483647\r\n", b"*2147483647\r\n$1\r\na\r\n"):
            sock = socket.create_connection(("127.0.0.1", node.port), timeout=10)
            sock.sendall(payload)
            held.append(sock)
            time.sleep(0.05)

    worst = _worst_ping_while(node.port, attack)
    try:
        assert worst < 0.1, f"another client's PING took {worst * 1000:.1f} ms"
        with RawClient(node.port) as c:
            assert c.call("PING") == b"+PONG\r\n"
        assert _rss_kb(node.proc.pid) - rss_before < 50 * 1024
    finally:
        for sock in held:
            sock.close()


def test_many_arguments_arriving_slowly_are_parsed_once(node):
    """A multibulk whose arguments trickle in is never parsed again from its start."""
    with RawClient(node.port) as c:
        count = 200_000
        c.send_raw(b"*%d\r\n$6\r\nEXISTS\r\n" % (count + 1))
        start = time.monotonic()
        chunk = b"$1\r\nk\r\n" * 1000
        for _ in range(count // 1000):
            c.send_raw(chunk)
        assert c.read_reply() == b":0\r\n"
        assert time.monotonic() - start < 20


def test_query_buffer_limit_closes_the_client_with_redis_log_line(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c:
            assert c.call("CONFIG", "SET", "client-query-buffer-limit", "1048576") == b"+OK\r\n"
    try:
        for server in (node, reference):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n")
                try:
                    for _ in range(40):
                        sock.sendall(b"x" * 65536)
                except OSError:
                    pass
                sock.settimeout(5)
                try:
                    assert sock.recv(100) == b""
                except ConnectionResetError:
                    pass  # closed with our bytes unread
        assert "Closing client that reached max query buffer length" in node.log
        assert '(qbuf initial bytes: "' in node.log
    finally:
        for server in (node, reference):
            with RawClient(server.port) as c:
                c.call("CONFIG", "SET", "client-query-buffer-limit", "1073741824")


def test_live_fuzz_never_crashes_or_hangs_the_node(node):
    """Random and malformed frames over many connections; the node keeps answering."""
    rng = random.Random(1123)
    batches = [batch(rng) for _ in range(1500)]
    frames = sum(count for _, count in batches)

    def fuzz(worker: int) -> None:
        for data, _ in batches[worker::8]:
            with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
                sock.sendall(data)
                sock.settimeout(0.01)
                try:
                    while sock.recv(65536):
                        pass
                except (TimeoutError, ConnectionResetError):
                    pass

    def attack() -> None:
        workers = [threading.Thread(target=fuzz, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)

    worst = _worst_ping_while(node.port, attack, seconds=0.2)
    assert node.proc.poll() is None
    assert frames > 20_000
    assert worst < 1.0, f"worst PING {worst * 1000:.0f} ms during {frames} fuzz frames"
    with RawClient(node.port) as c:
        assert c.call("PING") == b"+PONG\r\n"
    assert "Traceback" not in node.log and "Fatal error" not in node.log


FUZZ_TOKENS = [b"*", b"$", b"\r\n", b'"', b"'", b"\\x41", b"\\", b"\0", b"\v", b"\f", b"-1",
               b"*2147483647\r\n", b"*1\r\n", b"$4\r\nPING\r\n", b"$0\r\n\r\n", b"%", b"~", b">",
               b"|", b",1.5", b"=5\r\ntxt:a"]


def test_atheris_finds_no_disagreement_in_the_parser(tmp_path):
    """libFuzzer through atheris (parser_fuzz_target.py): bounded runs, fixed seed."""
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(5)
    for i in range(60):
        data, _ = batch(rng)
        (corpus / f"batch{i}").write_bytes(bytes([i % 2, 0]) + data[:3000])
    for i, data in enumerate(HUGE_HEADERS + MALFORMED):
        (corpus / f"frame{i}").write_bytes(b"\0\0" + data)
    tokens = tmp_path / "tokens.dict"
    tokens.write_text("".join('"%s"\n' % "".join(
        chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c for c in token)
        for token in FUZZ_TOKENS))
    run = subprocess.run(
        [sys.executable, str(SUPPORT / "parser_fuzz_target.py"), "-runs=30000", "-seed=1",
         "-max_total_time=10", "-max_len=4096", f"-dict={tokens}",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done " in run.stderr
