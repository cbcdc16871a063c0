"""CLIENT subcommands: introspection, naming, kill, pause, reply modes, flags."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis
from differential import assert_same
from nodes import start_node
from redslot.node.config.directives import Config
from redslot.node.server.client import Client
from redslot.node.server.dispatch import execute
from redslot.node.server.server import Server
from resp import RawClient

# Redis 7.2 adds lib-name and lib-ver after resp; the rest is 7.0.15's list, in order.
FIELDS_7_2_ONLY = ["lib-name", "lib-ver"]


def fields(line: bytes) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.decode().split(" "))


def bulk_text(reply: bytes) -> bytes:
    """The payload of a RESP2 bulk reply."""
    header, _, rest = reply.partition(b"\r\n")
    return rest[: int(header[1:])]


def wait_until_postponed(admin: RawClient, count: int, timeout: float = 5.0) -> None:
    """Until ``count`` clients show the blocked flag (a request postponed by CLIENT PAUSE)."""
    deadline = time.monotonic() + timeout
    while bulk_text(admin.call("CLIENT", "LIST")).count(b" flags=b ") != count:
        assert time.monotonic() < deadline, f"never saw {count} postponed clients"
        time.sleep(0.01)


def test_client_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("CLIENT",),
        ("CLIENT", "nosuch"),
        ("CLIENT", "ID", "x"),
        ("CLIENT", "SETNAME", "a b"),
        ("CLIENT", "SETNAME", "a\nb"),
        ("CLIENT", "LIST", "TYPE", "foo"),
        ("CLIENT", "LIST", "TYPE", "normal", "x"),
        ("CLIENT", "LIST", "ID"),
        ("CLIENT", "LIST", "ID", "abc"),
        ("CLIENT", "LIST", "ID", "1", "abc"),
        ("CLIENT", "LIST", "x"),
        ("CLIENT", "KILL"),
        ("CLIENT", "KILL", "1.2.3.4:5"),
        ("CLIENT", "KILL", "ID"),
        ("CLIENT", "KILL", "ID", "abc"),
        ("CLIENT", "KILL", "ID", "0"),
        ("CLIENT", "KILL", "ID", "-5"),
        ("CLIENT", "KILL", "ID", "99999"),
        ("CLIENT", "KILL", "TYPE", "foo"),
        ("CLIENT", "KILL", "USER", "nosuch"),
        ("CLIENT", "KILL", "USER", "default", "SKIPME", "maybe"),
        ("CLIENT", "KILL", "a", "b", "c"),
        ("CLIENT", "KILL", "ID", "5", "TYPE"),
        ("CLIENT", "KILL", "SKIPME", "yes"),
        ("CLIENT", "KILL", "ADDR", "1.1.1.1:1", "LADDR", "x"),
        ("CLIENT", "PAUSE"),
        ("CLIENT", "PAUSE", "abc"),
        ("CLIENT", "PAUSE", "-1"),
        ("CLIENT", "PAUSE", "10", "foo"),
        ("CLIENT", "PAUSE", "abc", "foo"),
        ("CLIENT", "PAUSE", "99999999999999999999"),
        ("CLIENT", "PAUSE", "10", "write", "x"),
        ("CLIENT", "UNPAUSE", "x"),
        ("CLIENT", "UNPAUSE"),
        ("CLIENT", "REPLY"),
        ("CLIENT", "REPLY", "foo"),
        ("CLIENT", "NO-EVICT"),
        ("CLIENT", "NO-EVICT", "maybe"),
        ("CLIENT", "NO-EVICT", "on"),
        ("CLIENT", "NO-EVICT", "off"),
        ("CLIENT", "HELP", "x"),
    ])


def test_setname_getname_and_empty_name_clears(node, reference):
    assert_same(node, reference, [
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "worker-1"),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", ""),
        ("CLIENT", "SETNAME", "again"),
        ("CLIENT", "SETNAME", "x y"),
        ("CLIENT", "GETNAME"),
    ])


def test_client_list_has_the_7_2_fields_in_order(node, reference):
    with RawClient(reference.port) as ref:
        expected = list(fields(bulk_text(ref.call("CLIENT", "INFO")).strip()))
    with RawClient(node.port) as c:
        ours = list(fields(bulk_text(c.call("CLIENT", "INFO")).strip()))
    assert ours == expected + FIELDS_7_2_ONLY


def test_client_info_describes_the_calling_connection(node):
    with RawClient(node.port) as c:
        c.call("CLIENT", "SETNAME", "me")
        c.call("SELECT", "3")
        client_id = int(c.call("CLIENT", "ID")[1:-2])
        info = fields(bulk_text(c.call("CLIENT", "INFO")).strip())
        local = c.sock.getsockname()
    assert info["id"] == str(client_id)
    assert info["addr"] == f"{local[0]}:{local[1]}"
    assert info["laddr"] == f"127.0.0.1:{node.port}"
    assert info["name"] == "me"
    assert info["db"] == "3"
    assert info["cmd"] == "client|info"
    assert info["flags"] == "N"
    assert info["multi"] == "-1"
    assert info["user"] == "default"
    assert info["resp"] == "2"
    assert info["argv-mem"] == str(len("CLIENT") + len("INFO"))
    assert int(info["fd"]) > 0


def test_client_info_is_a_verbatim_string_in_resp3(node):
    with RawClient(node.port) as c:
        c.call("HELLO", "3")
        reply = c.call("CLIENT", "INFO")
    assert reply.startswith(b"=") and b"\r\ntxt:id=" in reply and reply.endswith(b"\n\r\n")


def test_client_list_shows_every_connection_and_filters_by_id_and_type(node):
    with RawClient(node.port) as a, RawClient(node.port) as b:
        a_id = int(a.call("CLIENT", "ID")[1:-2])
        b_id = int(b.call("CLIENT", "ID")[1:-2])
        everyone = [fields(line) for line in bulk_text(a.call("CLIENT", "LIST")).splitlines()]
        by_id = [fields(line) for line in
                 bulk_text(a.call("CLIENT", "LIST", "ID", str(b_id), "999999", str(a_id))).splitlines()]
        normal = bulk_text(a.call("CLIENT", "LIST", "TYPE", "NORMAL")).splitlines()
        pubsub = bulk_text(a.call("CLIENT", "LIST", "TYPE", "pubsub"))
    assert {str(a_id), str(b_id)} <= {f["id"] for f in everyone}
    assert [f["id"] for f in by_id] == [str(b_id), str(a_id)]
    assert len(normal) == len(everyone)
    assert pubsub == b""


def test_kill_old_form_closes_the_connection_from_that_address(node):
    with RawClient(node.port) as victim, RawClient(node.port) as killer:
        host, port = victim.sock.getsockname()[:2]
        assert killer.call("CLIENT", "KILL", f"{host}:{port}") == b"+OK\r\n"
        assert victim.read_until_closed() == b""
        assert killer.call("CLIENT", "KILL", f"{host}:{port}") == b"-ERR No such client\r\n"


def test_kill_by_id_counts_and_skips_the_caller_by_default(node):
    with RawClient(node.port) as victim, RawClient(node.port) as killer:
        victim_id = victim.call("CLIENT", "ID")[1:-2]
        own_id = killer.call("CLIENT", "ID")[1:-2]
        assert killer.call("CLIENT", "KILL", "ID", victim_id) == b":1\r\n"
        assert victim.read_until_closed() == b""
        assert killer.call("CLIENT", "KILL", "ID", own_id) == b":0\r\n"
        assert killer.call("PING") == b"+PONG\r\n"


def test_kill_with_skipme_no_closes_the_caller_after_its_reply(node):
    with RawClient(node.port) as c:
        own_id = c.call("CLIENT", "ID")[1:-2]
        c.send_raw(b"CLIENT KILL ID %s SKIPME no\r\nPING\r\n" % own_id)
        assert c.read_until_closed() == b":1\r\n"


def test_kill_filters_by_laddr_user_and_type(node):
    with RawClient(node.port) as victim, RawClient(node.port) as killer:
        host, port = victim.sock.getsockname()[:2]
        reply = killer.call("CLIENT", "KILL", "LADDR", f"127.0.0.1:{node.port}", "USER", "default",
                            "TYPE", "normal", "ADDR", f"{host}:{port}")
        assert reply == b":1\r\n"
        assert victim.read_until_closed() == b""


def test_setinfo_sets_lib_name_and_version(node):
    """Redis 7.2 behaviour: 7.0.15 has no CLIENT SETINFO, so no differential here."""
    with RawClient(node.port) as c:
        assert c.call("CLIENT", "SETINFO", "LIB-NAME", "mylib") == b"+OK\r\n"
        assert c.call("CLIENT", "SETINFO", "lib-ver", "1.2.3") == b"+OK\r\n"
        info = fields(bulk_text(c.call("CLIENT", "INFO")).strip())
        assert (info["lib-name"], info["lib-ver"]) == ("mylib", "1.2.3")
        assert c.call("CLIENT", "SETINFO", "lib-name", "") == b"+OK\r\n"
        assert fields(bulk_text(c.call("CLIENT", "INFO")).strip())["lib-name"] == ""
        assert c.call("CLIENT", "SETINFO", "LIB-NAME", "a b") == (
            b"-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n")
        assert c.call("CLIENT", "SETINFO", "color", "red") == b"-ERR Unrecognized option 'color'\r\n"
        assert c.call("CLIENT", "SETINFO", "lib-name") == (
            b"-ERR wrong number of arguments for 'client|setinfo' command\r\n")


def test_redis_py_reports_its_library_through_setinfo(node):
    """Redis 7.2 behaviour: redis-py sends CLIENT SETINFO on connect."""
    client = redis.Redis(port=node.port, protocol=3)
    info = client.client_info()
    client.close()
    assert info["lib-name"] == "redis-py"
    assert info["lib-ver"] == redis.__version__


def test_help_lists_the_7_0_text_plus_the_7_2_subcommands(node, reference):
    with RawClient(node.port) as c, RawClient(reference.port) as ref:
        ours = c.call("CLIENT", "HELP").split(b"\r\n")
        theirs = ref.call("CLIENT", "HELP").split(b"\r\n")
    assert ours[0] == b"*%d" % (len(ours) - 2)
    assert [line for line in ours[1:] if line in theirs[1:]] == theirs[1:]
    assert b"+SETINFO <option> <value>" in ours and b"+NO-TOUCH (ON|OFF)" in ours


def test_reply_off_silences_until_on(node):
    with RawClient(node.port) as c:
        c.send_raw(b"CLIENT REPLY OFF\r\nSET k v\r\nGET k\r\nCLIENT REPLY ON\r\nGET k\r\n")
        assert c.read_reply() == b"+OK\r\n"
        assert c.read_reply() == b"$1\r\nv\r\n"


def test_reply_skip_silences_exactly_the_next_command(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.send_raw(b"CLIENT REPLY SKIP\r\nECHO a\r\nECHO b\r\nCLIENT REPLY SKIP\r\n"
                       b"CLIENT REPLY SKIP\r\nECHO c\r\nECHO d\r\n")
            assert c.read_reply() == b"$1\r\nb\r\n"
            assert c.read_reply() == b"$1\r\nd\r\n"


def test_no_evict_and_no_touch_show_in_the_flags(node):
    with RawClient(node.port) as c:
        assert c.call("CLIENT", "NO-EVICT", "on") == b"+OK\r\n"
        assert c.call("CLIENT", "NO-TOUCH", "ON") == b"+OK\r\n"
        assert fields(bulk_text(c.call("CLIENT", "INFO")).strip())["flags"] == "eT"
        assert c.call("CLIENT", "NO-TOUCH", "maybe") == b"-ERR syntax error\r\n"
        c.call("CLIENT", "NO-EVICT", "off")
        c.call("CLIENT", "NO-TOUCH", "off")
        assert fields(bulk_text(c.call("CLIENT", "INFO")).strip())["flags"] == "N"


def test_no_touch_reads_leave_the_access_clock_but_touch_updates_it():
    server = Server(Config())
    client = Client(server)
    execute(server, client, [b"SET", b"k", b"v"])
    db = server.dbs[0]
    server.keyspace_stats.lru_clock = 1000
    execute(server, client, [b"GET", b"k"])
    assert db.get_clock(b"k") == 1000
    execute(server, client, [b"CLIENT", b"NO-TOUCH", b"on"])
    server.keyspace_stats.lru_clock = 2000
    execute(server, client, [b"GET", b"k"])
    assert db.get_clock(b"k") == 1000
    execute(server, client, [b"TOUCH", b"k"])
    assert db.get_clock(b"k") == 2000
    assert server.keyspace_stats.no_touch is False


# --- CLIENT PAUSE ---

@pytest.fixture(scope="module")
def slow_cron_node():
    """A node whose cron runs once a second: a pause must end by its own timer."""
    proc = start_node("--hz", "1", "--dynamic-hz", "no")
    yield proc
    proc.stop()


def test_write_pause_postpones_writes_but_not_reads(node):
    with RawClient(node.port) as admin, RawClient(node.port) as c:
        c.call("SET", "k", "old")
        assert admin.call("CLIENT", "PAUSE", "400", "WRITE") == b"+OK\r\n"
        start = time.monotonic()
        assert c.call("GET", "k") == b"$3\r\nold\r\n"
        assert time.monotonic() - start < 0.3
        assert c.call("SET", "k", "new") == b"+OK\r\n"
        assert time.monotonic() - start >= 0.35


def test_pause_ends_on_time_without_waiting_for_the_cron(slow_cron_node):
    with RawClient(slow_cron_node.port) as admin, RawClient(slow_cron_node.port) as c:
        admin.call("CLIENT", "PAUSE", "200", "ALL")
        start = time.monotonic()
        assert c.call("PING") == b"+PONG\r\n"
        elapsed = time.monotonic() - start
    assert 0.15 <= elapsed < 0.6


def test_postponed_clients_resume_in_arrival_order(node):
    with RawClient(node.port) as admin:
        admin.call("DEL", "order")
        admin.call("CLIENT", "PAUSE", "5000", "WRITE")
        clients = [RawClient(node.port) for _ in range(5)]
        for i, c in enumerate(clients):
            c.send_raw(b"APPEND order %d\r\nAPPEND order -\r\n" % i)
            wait_until_postponed(admin, i + 1)
        admin.call("CLIENT", "UNPAUSE")
        for c in clients:
            assert c.read_reply().startswith(b":")
            assert c.read_reply().startswith(b":")
            c.close()
        assert admin.call("GET", "order") == b"$10\r\n0-1-2-3-4-\r\n"


def test_unpause_releases_postponed_clients_at_once(node):
    with RawClient(node.port) as admin, RawClient(node.port) as c:
        admin.call("CLIENT", "PAUSE", "10000", "WRITE")
        start = time.monotonic()
        c.send_raw(b"SET k v\r\n")
        timer = threading.Timer(0.2, lambda: RawClient(node.port).call("CLIENT", "UNPAUSE"))
        timer.start()
        assert c.read_reply() == b"+OK\r\n"
        timer.join()
        assert time.monotonic() - start < 2


def test_pause_all_postpones_reads_too(node):
    with RawClient(node.port) as admin, RawClient(node.port) as c:
        admin.call("CLIENT", "PAUSE", "300")
        start = time.monotonic()
        assert c.call("GET", "k") in (b"$-1\r\n", b"$1\r\nv\r\n", b"$3\r\nnew\r\n")
        assert time.monotonic() - start >= 0.25


def test_a_postponed_client_shows_the_blocked_flag(node):
    with RawClient(node.port) as admin, RawClient(node.port) as c:
        own = c.call("CLIENT", "ID")[1:-2]
        admin.call("CLIENT", "PAUSE", "5000", "WRITE")
        c.send_raw(b"SET k v\r\n")
        wait_until_postponed(admin, 1)
        line = bulk_text(admin.call("CLIENT", "LIST", "ID", own))
        assert fields(line.strip())["flags"] == "b"
        admin.call("CLIENT", "UNPAUSE")
        assert c.read_reply() == b"+OK\r\n"


def test_killed_postponed_client_does_not_run_its_command(node):
    with RawClient(node.port) as admin:
        admin.call("SET", "victim", "before")
        victim = RawClient(node.port)
        victim_id = victim.call("CLIENT", "ID")[1:-2]
        admin.call("CLIENT", "PAUSE", "300", "WRITE")
        victim.send_raw(b"SET victim after\r\n")
        time.sleep(0.05)
        assert admin.call("CLIENT", "KILL", "ID", victim_id) == b":1\r\n"
        time.sleep(0.4)
        assert admin.call("GET", "victim") == b"$6\r\nbefore\r\n"
        victim.close()


def test_a_killed_client_sees_its_socket_closed(node):
    """A killed client's socket is really closed (the peer sees EOF)."""
    with RawClient(node.port) as killer:
        victim = socket.create_connection(("127.0.0.1", node.port), timeout=5)
        victim.sendall(b"PING\r\n")
        assert victim.recv(100) == b"+PONG\r\n"
        host, port = victim.getsockname()[:2]
        killer.call("CLIENT", "KILL", "ADDR", f"{host}:{port}")
        assert victim.recv(100) == b""
        victim.close()


def test_qbuf_counts_a_partial_request_and_qbuf_free_its_spare_room(node):
    """A request still arriving sits in the query buffer; once parsed it is released."""
    with RawClient(node.port) as partial, RawClient(node.port) as admin:
        partial_id = partial.call("CLIENT", "ID")[1:-2].decode()
        partial.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + b"x" * 60000)
        deadline = time.monotonic() + 5
        while True:
            line = next(entry for entry in admin.call("CLIENT", "LIST").decode().splitlines()
                        if f"id={partial_id} " in entry)
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if int(fields["qbuf"]) >= 60000:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert int(fields["qbuf-free"]) >= 0
        partial.send_raw(b"x" * 40000 + b"\r\n")
        assert partial.read_reply() == b"+OK\r\n"
        line = next(entry for entry in admin.call("CLIENT", "LIST").decode().splitlines()
                    if f"id={partial_id} " in entry)
        assert " qbuf=0 qbuf-free=0 " in line


def test_a_peer_that_shuts_its_sending_side_is_disconnected_quietly(node):
    """Redis frees a client whose read hits end of file: the node's client (a compiled
    class, not an asyncio.Protocol) lets the transport close on eof_received."""
    with RawClient(node.port) as admin:
        peer = socket.create_connection(("127.0.0.1", node.port), timeout=5)
        peer.sendall(b"CLIENT ID\r\n")
        peer_id = peer.recv(100)[1:-2].decode()
        peer.shutdown(socket.SHUT_WR)
        assert peer.recv(100) == b""
        peer.close()
        deadline = time.monotonic() + 5
        while f"id={peer_id} " in admin.call("CLIENT", "LIST").decode():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert admin.call("PING") == b"+PONG\r\n"
    assert "Traceback" not in node.log
