"""Client-side caching (CLIENT TRACKING) against redis-server, byte for byte.

Scenarios with pushes on the tracking connection itself run in RESP3 only; the redirect
scenario runs in both protocols (a RESP2 redirect target gets ``__redis__:invalidate``
messages, a RESP3 one pushes).
"""

from __future__ import annotations

from nodes import ServerProcess
from resp import RawClient, encode_command
from transcripts import assert_same_transcript, transcript


def test_default_mode_invalidates_a_read_key_once(node: ServerProcess,
                                                  reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("w", 1, "SET", "k", "v1"),
        ("c", 1, "CLIENT", "TRACKING", "ON"),
        ("c", 1, "GET", "k"),
        ("c", 1, "MGET", "k", "other"),
        ("w", 1, "SET", "k", "v2"),
        ("c", 1),  # the invalidation push
        ("w", 1, "SET", "k", "v3"),  # not read again: nothing more
        ("w", 1, "SET", "other", "x"),
        ("c", 1),
        ("c", 1, "GET", "k"),
        ("c", 1, "SET", "k", "own write"),  # reply first, then its invalidation
        ("c", 1),
        ("c", 1, "CLIENT", "TRACKINGINFO"),
        ("c", 1, "CLIENT", "GETREDIR"),
    ], protocols=(3,))


def test_redirect_to_a_resp2_subscriber(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("r", 1, "SUBSCRIBE", "__redis__:invalidate"),
        ("w", 1, "MSET", "a", "1", "b", "2"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "REDIRECT", "{id:r}"),
        ("c", 1, "ids", "CLIENT", "GETREDIR"),
        ("c", 1, "GET", "a"),
        ("c", 1, "GET", "b"),
        ("w", 1, "DEL", "a"),
        ("r", 1),
        ("w", 1, "FLUSHALL"),
        ("r", 1),
        ("c", 1, "ids", "CLIENT", "TRACKINGINFO"),
    ])


def test_bcast_with_prefixes_and_noloop(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("c", 1, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "cart:",
         "NOLOOP"),
        ("w", 1, "MSET", "user:2", "a", "user:1", "b", "misc", "c"),
        ("c", 1),
        ("c", 1, "SET", "cart:9", "mine"),  # NOLOOP: no invalidation of its own change
        ("w", 1, "SET", "cart:1", "theirs"),
        ("c", 1),
        ("c", 1, "CLIENT", "TRACKINGINFO"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:x"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab"),
        ("c", 1, "CLIENT", "TRACKING", "ON"),
        ("c", 1, "CLIENT", "TRACKING", "OFF"),
        ("c", 1, "CLIENT", "TRACKINGINFO"),
    ], protocols=(3,))


def test_optin_and_optout_with_caching(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("c", 1, "CLIENT", "CACHING", "YES"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "OPTIN"),
        ("c", 1, "CLIENT", "CACHING", "NO"),
        ("c", 1, "GET", "not-cached"),
        ("c", 1, "CLIENT", "CACHING", "YES"),
        ("c", 1, "CLIENT", "TRACKINGINFO"),
        ("c", 1, "GET", "cached"),
        ("c", 1, "CLIENT", "TRACKINGINFO"),
        ("w", 1, "SET", "not-cached", "1"),
        ("w", 1, "SET", "cached", "1"),
        ("c", 1),
        ("c", 1, "CLIENT", "TRACKING", "ON", "OPTOUT"),
        ("c", 1, "CLIENT", "TRACKING", "OFF"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "OPTOUT"),
        ("c", 1, "CLIENT", "CACHING", "NO"),
        ("c", 1, "GET", "skipped"),
        ("c", 1, "GET", "kept"),
        ("w", 1, "MSET", "skipped", "1", "kept", "1"),
        ("c", 1),
        ("c", 1, "CLIENT", "CACHING", "maybe"),
    ], protocols=(3,))


def test_option_errors(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("c", 1, "CLIENT", "TRACKING", "ON", "PREFIX", "a"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "REDIRECT", "notanumber"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "REDIRECT", "{id:c}", "REDIRECT", "{id:c}"),
        ("c", 1, "CLIENT", "TRACKING", "MAYBE"),
        ("c", 1, "CLIENT", "TRACKING", "ON", "BOGUS"),
        ("c", 1, "CLIENT", "TRACKING"),
        ("c", 1, "CLIENT", "CACHING", "YES"),
        ("c", 1, "CLIENT", "GETREDIR"),
        ("c", 1, "CLIENT", "TRACKINGINFO"),
    ])


def test_broken_redirect_is_reported(node: ServerProcess, reference: ServerProcess) -> None:
    def run(server: ServerProcess) -> list[bytes]:
        with RawClient(server.port) as c, RawClient(server.port) as w:
            target = RawClient(server.port)
            target_id = target.call("CLIENT", "ID")[1:-2]
            c.call("HELLO", "3")
            c.call("CLIENT", "TRACKING", "ON", "REDIRECT", target_id)
            c.call("GET", "k")
            target.close()
            w.call("PING")
            w.call("SET", "k", "v")
            own = b":%s\r\n" % target_id
            push = c.read_reply().replace(own, b":ID\r\n")
            info = c.call("CLIENT", "TRACKINGINFO").replace(own, b":ID\r\n")
            flags = [f for f in c.call("CLIENT", "INFO").split() if f.startswith(b"flags=")]
            return [push, info, *flags]
    assert run(node) == run(reference)


def test_flush_sends_a_null_invalidation(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("c", 1, "CLIENT", "TRACKING", "ON"),
        ("c", 1, "GET", "x"),
        ("w", 1, "FLUSHDB"),
        ("c", 1),
        ("c", 1, "FLUSHALL"),
        ("c", 1),
    ], protocols=(3,))


def test_info_and_client_list(node: ServerProcess, reference: ServerProcess) -> None:
    def run(server: ServerProcess) -> list[bytes]:
        with RawClient(server.port) as c, RawClient(server.port) as b, RawClient(server.port) as a:
            a.call("FLUSHALL")
            c.call("CLIENT", "TRACKING", "ON")
            c.call("MGET", "k1", "k2", "k3")
            b.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p", "PREFIX", "q")
            info = [line for line in a.call("INFO").split(b"\r\n")
                    if line.startswith(b"tracking_")]
            flags = [f for f in b.call("CLIENT", "INFO").split() if f.startswith((b"flags=", b"redir="))]
            a.call("SET", "k1", "changed")
            after = [line for line in a.call("INFO").split(b"\r\n")
                     if line.startswith(b"tracking_total")]
            return info + flags + after
    assert run(node) == run(reference)


def test_tracking_table_max_keys_evicts_with_invalidations(node: ServerProcess) -> None:
    steps = [
        ("a", 1, "CONFIG", "SET", "tracking-table-max-keys", "2"),
        ("c", 1, "CLIENT", "TRACKING", "ON"),
        ("c", 1, "MGET", "k1", "k2", "k3"),
        ("c", 2, "PING"),  # trimmed before the next command runs: one key forgotten, told first
        ("a", 1, "CONFIG", "SET", "tracking-table-max-keys", "1000000"),
    ]
    got = transcript(node, steps, resp3=True)
    invalidation, pong = got[3]
    assert invalidation.startswith(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk")
    assert pong == b"+PONG\r\n"


def test_noloop_holds_for_writes_pipelined_after_tracking_on(node: ServerProcess,
                                                             reference: ServerProcess) -> None:
    """A read that turns tracking on and then writes: the writes are this client's own
    (NOLOOP skips them), whoever's request ran before it."""
    def run(server: ServerProcess) -> list[bytes]:
        with RawClient(server.port) as other, RawClient(server.port) as c:
            other.call("SET", "warm", "x")  # the last client to run a request before
            c.call("HELLO", "3")
            c.send_raw(encode_command("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
                       + encode_command("SET", "k", "mine")
                       + encode_command("PING"))
            replies = [c.read_reply() for _ in range(3)]
            other.call("SET", "theirs", "x")
            replies.append(c.read_reply())  # their write's invalidation, not one of "k"
            return replies
    got = run(node)
    assert got == run(reference)
    assert got[:3] == [b"+OK\r\n", b"+OK\r\n", b"+PONG\r\n"]
