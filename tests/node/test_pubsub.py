"""Pub/Sub against redis-server: replies, pushes and errors byte for byte, RESP2 and RESP3
(transcripts.py runs each scenario's steps on both servers)."""

from __future__ import annotations

import time

import pytest
import redis
from nodes import ServerProcess, start_node
from resp import RawClient
from transcripts import assert_same_transcript


def test_subscribe_publish_and_unsubscribe(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 3, "SUBSCRIBE", "a", "b", "a"),
        ("p", 1, "PUBLISH", "a", "hello"),
        ("s", 1),
        ("p", 1, "PUBLISH", "nobody", "x"),
        ("p", 1, "PUBLISH", "b", ""),
        ("s", 1),
        ("s", 1, "UNSUBSCRIBE", "a"),
        ("s", 2, "UNSUBSCRIBE", "zz", "b"),
        ("s", 1, "UNSUBSCRIBE"),
        ("s", 1, "PUNSUBSCRIBE"),
        ("s", 1, "SUNSUBSCRIBE"),
        ("s", 1, "GET", "k"),
    ])


def test_unsubscribe_from_everything_replies_once_per_channel(
        node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 3, "SUBSCRIBE", "x", "y", "z"),
        ("s", 3, "sorted", "UNSUBSCRIBE"),
        ("s", 2, "PSUBSCRIBE", "p*", "q?"),
        ("s", 2, "PUNSUBSCRIBE"),
        ("s", 1, "PING"),
    ])


def test_patterns_deliver_pmessage_with_the_glob_rules(
        node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 5, "PSUBSCRIBE", "news.*", "h?llo", "h[^e]llo", "a\\*b", "[a-c]x"),
        ("p", 1, "PUBLISH", "news.tech", "1"),
        ("s", 1),
        ("p", 1, "PUBLISH", "hallo", "2"),
        ("s", 2, "sorted"),
        ("p", 1, "PUBLISH", "a*b", "3"),
        ("s", 1),
        ("p", 1, "PUBLISH", "bx", "4"),
        ("s", 1),
        ("p", 1, "PUBLISH", "news", "no match"),
        ("p", 1, "PUBLISH", "", "empty channel"),
        ("p", 1, "PUBSUB", "NUMPAT"),
        ("s", 1, "PUNSUBSCRIBE", "h?llo"),
        ("p", 1, "PUBSUB", "NUMPAT"),
    ])


def test_a_channel_and_a_pattern_both_deliver(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 1, "SUBSCRIBE", "chat"),
        ("s", 1, "PSUBSCRIBE", "ch*"),
        ("p", 1, "PUBLISH", "chat", "hi"),
        ("s", 2),
        ("t", 1, "SUBSCRIBE", "chat"),
        ("p", 1, "PUBLISH", "chat", "two"),
        ("s", 2),
        ("t", 1),
    ])


def test_subscribed_mode_allows_only_the_subscribe_family(
        node: ServerProcess, reference: ServerProcess) -> None:
    """RESP2 refuses the rest with Redis's text; RESP3 allows every command."""
    assert_same_transcript(node, reference, [
        ("s", 1, "SUBSCRIBE", "c"),
        ("s", 1, "SET", "k", "v"),
        ("s", 1, "CLIENT", "LIST", "ID", "1"),
        ("s", 1, "PING"),
        ("s", 1, "PING", "msg"),
        ("s", 1, "PING", "a", "b"),
        ("s", 1, "NOSUCHCOMMAND"),
        ("s", 1, "SUBSCRIBE"),
        ("s", 1, "MULTI"),
        ("s", 1, "PUBSUB", "NUMSUB", "c"),
        ("s", 1, "UNSUBSCRIBE", "c"),
        ("s", 1, "SET", "k", "v"),
        ("s", 1, "PING"),
    ])


def test_reset_leaves_subscribed_mode(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 2, "SUBSCRIBE", "c", "d"),
        ("s", 1, "PSUBSCRIBE", "e*"),
        ("s", 1, "RESET"),
        ("s", 1, "GET", "k"),
        ("p", 1, "PUBLISH", "c", "nobody"),
        ("p", 1, "PUBSUB", "NUMPAT"),
        ("p", 1, "PUBSUB", "NUMSUB", "c", "d"),
    ])


def test_shard_channels(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 2, "SSUBSCRIBE", "{u}a", "{u}b"),
        ("s", 1, "SUBSCRIBE", "plain"),
        ("p", 1, "SPUBLISH", "{u}a", "m1"),
        ("s", 1),
        ("p", 1, "PUBLISH", "{u}a", "not for shard subscribers"),
        ("p", 1, "PUBSUB", "SHARDNUMSUB", "{u}a", "{u}b", "none"),
        ("p", 1, "PUBSUB", "SHARDCHANNELS", "*b"),
        ("p", 1, "PUBSUB", "SHARDCHANNELS", "*a"),
        ("p", 1, "PUBSUB", "SHARDCHANNELS", "a", "b"),
        ("s", 1, "SUNSUBSCRIBE", "{u}a"),
        ("s", 1, "sorted", "SUNSUBSCRIBE"),
        ("s", 1, "UNSUBSCRIBE"),
    ])


def test_pubsub_introspection_and_errors(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [
        ("s", 2, "SUBSCRIBE", "one", "two"),
        ("s", 1, "PSUBSCRIBE", "t*"),
        ("p", 1, "PUBSUB", "CHANNELS", "t*"),
        ("p", 1, "PUBSUB", "CHANNELS", "o*"),
        ("p", 1, "PUBSUB", "NUMSUB"),
        ("p", 1, "PUBSUB", "NUMSUB", "one", "two", "three"),
        ("p", 1, "PUBSUB", "NUMPAT"),
        ("p", 1, "PUBSUB", "NUMPAT", "x"),
        ("p", 1, "PUBSUB", "NOPE"),
        ("p", 1, "PUBSUB"),
        ("p", 1, "PUBSUB", "HELP"),
        ("p", 1, "PUBLISH", "one"),
        ("p", 1, "SUBSCRIBE"),
        ("p", 1, "SPUBLISH", "x"),
    ])


def test_subscribe_inside_multi(node: ServerProcess, reference: ServerProcess) -> None:
    """SUBSCRIBE runs inside EXEC (its replies inside EXEC's array); SSUBSCRIBE is refused
    there as for a DENY BLOCKING client."""
    assert_same_transcript(node, reference, [
        ("s", 1, "MULTI"),
        ("s", 1, "SUBSCRIBE", "m1"),
        ("s", 1, "SSUBSCRIBE", "m2"),
        ("s", 1, "EXEC"),
        ("p", 1, "PUBLISH", "m1", "after exec"),
        ("s", 1),
    ])


def test_client_list_shows_subscriptions(node: ServerProcess, reference: ServerProcess) -> None:
    """CLIENT LIST's flags and sub/psub/ssub counts, and CLIENT KILL TYPE pubsub."""
    def fields(server: ServerProcess) -> list[str]:
        with RawClient(server.port) as sub, RawClient(server.port) as admin:
            sub.call("SUBSCRIBE", "a", "b")
            sub.read_reply()
            sub.call("PSUBSCRIBE", "p*")
            sub.call("SSUBSCRIBE", "s")
            line = admin.call("CLIENT", "LIST", "TYPE", "pubsub").decode()
            picked = [f for f in line.split() if f.split("=")[0] in
                      ("flags", "sub", "psub", "ssub", "multi", "resp")]
            killed = admin.call("CLIENT", "KILL", "TYPE", "pubsub")
            normal = admin.call("CLIENT", "LIST", "TYPE", "pubsub")
            return picked + [killed.decode(), normal.decode()]
    assert fields(node) == fields(reference)


@pytest.mark.parametrize("resp3", [False, True])
def test_info_counts_channels_and_patterns(node: ServerProcess, reference: ServerProcess,
                                           resp3: bool) -> None:
    def counts(server: ServerProcess) -> list[str]:
        with RawClient(server.port) as sub, RawClient(server.port) as admin:
            if resp3:
                sub.call("HELLO", "3")
            sub.call("SUBSCRIBE", "a")
            sub.call("PSUBSCRIBE", "x*")
            sub.call("SSUBSCRIBE", "q")
            info = admin.call("INFO", "stats").decode()
            return [line for line in info.split("\r\n") if line.startswith("pubsub")]
    assert counts(node) == counts(reference)


def test_publish_reaches_a_replica_subscriber() -> None:
    """A standalone master streams PUBLISH to its replicas, whose subscribers get it."""
    master = start_node()
    replica = start_node("--replicaof", "127.0.0.1", str(master.port))
    try:
        with RawClient(replica.port) as sub, RawClient(master.port) as pub:
            deadline = time.monotonic() + 10
            while b"master_link_status:up" not in sub.call("INFO", "replication"):
                assert time.monotonic() < deadline, "replica never linked"
                time.sleep(0.05)
            sub.call("SUBSCRIBE", "news")
            assert pub.call("PUBLISH", "news", "from master") == b":0\r\n"
            assert sub.read_reply() == b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$11\r\nfrom master\r\n"
    finally:
        replica.stop()
        master.stop()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_pubsub_receives_every_message(node: ServerProcess, protocol: int) -> None:
    """redis-py's PubSub object, as applications use it, over both protocols."""
    client = redis.Redis(port=node.port, protocol=protocol, socket_timeout=10)
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("orders")
        pubsub.psubscribe("events.*")
        pubsub.ssubscribe("{s}shard")
        confirmations = [pubsub.get_message(timeout=5) for _ in range(3)]
        assert [m["type"] for m in confirmations] == ["subscribe", "psubscribe", "ssubscribe"]
        for i in range(50):
            assert client.publish("orders", f"o{i}") == 1
            assert client.publish("events.login", f"e{i}") == 1
            assert client.spublish("{s}shard", f"s{i}") == 1
        got = [pubsub.get_message(timeout=5) for _ in range(150)]
        assert [m["data"] for m in got if m["type"] == "message"] == [b"o%d" % i for i in range(50)]
        assert [(m["pattern"], m["channel"], m["data"]) for m in got if m["type"] == "pmessage"] == [
            (b"events.*", b"events.login", b"e%d" % i) for i in range(50)]
        assert [m["data"] for m in got if m["type"] == "smessage"] == [b"s%d" % i for i in range(50)]
        assert client.pubsub_numsub("orders") == [(b"orders", 1)]
        assert client.pubsub_numpat() == 1
    finally:
        pubsub.close()
        client.close()

