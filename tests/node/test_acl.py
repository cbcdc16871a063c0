"""ACL against Debian's redis-server: rules and their errors, GETUSER/LIST rendering, NOPERM
for commands, keys and channels, MULTI, AUTH/HELLO, ACL LOG, the ACL file and redis-py.

Redis lists the single commands of a user's rules in its command dict's hash order, random
per process: replies are compared with those single-command rules sorted (``normalized``).
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
import redis
from differential import Request, assert_same
from nodes import ServerProcess, free_port, start_node, start_redis_server
from resp import RawClient

USERS = ("alice", "bob", "carol", "dave", "erin", "sub")


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    node = start_node()
    ref = start_redis_server()
    try:
        yield node, ref
    finally:
        node.stop()
        ref.stop()


def run(port: int, script: Sequence[Request], resp3: bool = False) -> list[bytes]:
    """``script`` on a fresh admin connection, after the test users are dropped."""
    with RawClient(port) as c:
        c.call("ACL", "DELUSER", *USERS)
        c.call("ACL", "LOG", "RESET")
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        return [c.call(*req) for req in script]


_RULES = re.compile(rb"([+-]@all(?: [+-]@[a-z]+)*)((?: [+-][a-z][^ \r)]*)+)")


def normalized(reply: bytes) -> bytes:
    """``reply`` with each command-rule list's single commands in sorted order."""
    return _RULES.sub(lambda m: m[1] + b" " + b" ".join(sorted(m[2].split())), reply)


def same(pair: tuple[ServerProcess, ServerProcess], script: Sequence[Request],
         resp3: bool = False) -> None:
    node, ref = pair
    ours = [normalized(r) for r in run(node.port, script, resp3)]
    theirs = [normalized(r) for r in run(ref.port, script, resp3)]
    for req, mine, expected in zip(script, ours, theirs, strict=True):
        assert mine == expected, f"{req!r}: redslot {mine!r} != redis-server {expected!r}"


def same_sessions(pair: tuple[ServerProcess, ServerProcess],
                  session: Callable[[int], list[bytes]]) -> None:
    node, ref = pair
    ours = [normalized(r) for r in session(node.port)]
    theirs = [normalized(r) for r in session(ref.port)]
    assert ours == theirs


RULES: list[list[str]] = [
    [],
    ["on", ">secret"],
    ["on", ">a", ">b", "<a", "#" + "0" * 64],
    ["nopass", "resetpass", "on"],
    ["~foo*", "%R~bar*", "%W~baz*", "%RW~qux", "%R~foo*"],
    ["allkeys"],
    ["~a", "resetkeys", "~b"],
    ["&news.*", "&alerts"],
    ["allchannels"],
    ["&x", "resetchannels", "&y"],
    ["+@all"],
    ["allcommands", "-@dangerous"],
    ["+@read", "-@string"],
    ["+@hash", "+@set", "-hget"],
    ["-@all", "+@admin"],
    ["nocommands", "+get"],
    ["+@all", "-@all", "+@write"],
    ["+client|list"],
    ["+@all", "-config|set"],
    ["+select|0"],
    ["+@read", "-@keyspace"],
    ["+@fast", "-@slow"],
    ["+@pubsub", "&chan"],
    ["on", "(~x* +get)"],
    ["on", "(~x*", "+get)", "(%R~y* +@read)"],
    ["(~x* +get)", "clearselectors"],
    ["on", ">p", "~k", "&c", "+get", "reset"],
    ["skip-sanitize-payload"],
    ["sanitize-payload", "off"],
    ["allkeys", "allchannels", "allcommands", "on", "nopass"],
    ["", "on"],
    ["ON", "+GET", "~K", "ALLCHANNELS"],
]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_setuser_rules_show_in_getuser_and_list_as_in_redis(pair, resp3: bool) -> None:
    script: list[Request] = []
    for rules in RULES:
        script += [("ACL", "SETUSER", "alice", *rules), ("ACL", "GETUSER", "alice"),
                   ("ACL", "LIST"), ("ACL", "DELUSER", "alice")]
    same(pair, script, resp3)


def test_setuser_rules_apply_to_an_existing_user(pair) -> None:
    same(pair, [
        ("ACL", "SETUSER", "bob", "on", ">one", "~a*", "+@read"),
        ("ACL", "SETUSER", "bob", ">two", "%W~b*", "-@read", "+@write"),
        ("ACL", "GETUSER", "bob"),
        ("ACL", "SETUSER", "bob", "<one", "!" + "1" * 64),
        ("ACL", "GETUSER", "bob"),
        ("ACL", "LIST"),
    ])


ERRORS: list[list[str]] = [
    ["bogus"],
    ["+nosuchcommand"],
    ["-nosuchcommand"],
    ["+@nosuchcategory"],
    ["-@nosuchcategory"],
    ["+config|get|x"],
    ["+get|"],
    ["-select|0"],
    ["+client|nosuch"],
    ["allkeys", "~foo"],
    ["allchannels", "&foo"],
    ["<nosuchpassword"],
    ["!" + "0" * 64],
    ["#tooshort"],
    ["#" + "A" * 64],
    ["!xyz"],
    ["%X~foo"],
    ["%RR~foo"],
    ["%~foo"],
    ["(~x* bogus)"],
    ["(~x*", "+get"],
    ["on", "+get", "bogus", ">never"],
    ["~a b"],
]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_setuser_errors_are_redis_texts_and_change_nothing(pair, resp3: bool) -> None:
    script: list[Request] = [("ACL", "SETUSER", "carol", "on", "~c*", "+get")]
    for rules in ERRORS:
        script += [("ACL", "SETUSER", "carol", *rules), ("ACL", "GETUSER", "carol")]
    script += [("ACL", "SETUSER", "bad user"), ("ACL", "SETUSER", "bad\x00user"),
               ("ACL", "SETUSER"), ("ACL", "LIST")]
    same(pair, script, resp3)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_acl_subcommands_reply_as_redis(pair, resp3: bool) -> None:
    same(pair, [
        ("ACL", "WHOAMI"), ("ACL", "USERS"), ("ACL", "CAT"), ("ACL", "CAT", "nosuch"),
        ("ACL", "CAT", "a", "b"), ("ACL", "SETUSER", "dave"), ("ACL", "SETUSER", "bob"),
        ("ACL", "USERS"), ("ACL", "GETUSER", "nobody"), ("ACL", "DELUSER", "default"),
        ("ACL", "DELUSER", "bob", "default"), ("ACL", "DELUSER", "bob", "nobody", "dave"),
        ("ACL", "USERS"), ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "4097"),
        ("ACL", "GENPASS", "x"), ("ACL", "GENPASS", "1", "2"), ("ACL", "LOG", "x"),
        ("ACL", "LOG", "1", "2"), ("ACL", "LOG", "-1"), ("ACL", "LOG", "RESET"),
        ("ACL", "LOAD"), ("ACL", "SAVE"), ("ACL", "HELP"), ("ACL", "NOSUCH"), ("ACL",),
        ("ACL", "WHOAMI", "x"), ("ACL", "LIST", "x"),
    ], resp3)


def test_acl_cat_of_a_category_lists_its_commands(pair) -> None:
    node, ref = pair
    for category in ("geo", "read", "dangerous", "pubsub", "keyspace", "slow"):
        with RawClient(node.port) as ours, RawClient(ref.port) as theirs:
            mine = ours.call("ACL", "CAT", category).split(b"\r\n")
            expected = theirs.call("ACL", "CAT", category).split(b"\r\n")
        assert mine[0] == expected[0]
        assert sorted(mine) == sorted(expected)


def test_genpass_gives_hex_of_the_asked_bits(pair) -> None:
    node, _ = pair
    r = redis.Redis(port=node.port)
    assert re.fullmatch(rb"[0-9a-f]{64}", r.execute_command("ACL", "GENPASS"))
    assert re.fullmatch(rb"[0-9a-f]{2}", r.execute_command("ACL", "GENPASS", "5"))
    assert len(r.execute_command("ACL", "GENPASS", "4096")) == 1024


def test_dryrun_replies_as_redis(pair) -> None:
    same(pair, [
        ("ACL", "SETUSER", "erin", "on", "%R~r*", "%W~w*", "~rw*", "&ch*", "+@read",
         "+@write", "+publish", "+subscribe", "+psubscribe"),
        ("ACL", "DRYRUN", "erin", "get", "r1"), ("ACL", "DRYRUN", "erin", "get", "w1"),
        ("ACL", "DRYRUN", "erin", "set", "w1", "v"), ("ACL", "DRYRUN", "erin", "set", "r1", "v"),
        ("ACL", "DRYRUN", "erin", "getset", "w1", "v"),
        ("ACL", "DRYRUN", "erin", "getset", "rw1", "v"),
        ("ACL", "DRYRUN", "erin", "copy", "r1", "w1"), ("ACL", "DRYRUN", "erin", "copy", "w1", "r1"),
        ("ACL", "DRYRUN", "erin", "lmove", "rw1", "w1", "left", "right"),
        ("ACL", "DRYRUN", "erin", "mget", "r1", "rw2", "w3"),
        ("ACL", "DRYRUN", "erin", "del", "w1"), ("ACL", "DRYRUN", "erin", "del", "r1"),
        ("ACL", "DRYRUN", "erin", "exists", "w1"),
        ("ACL", "DRYRUN", "erin", "set", "w1", "v", "get"),
        ("ACL", "DRYRUN", "erin", "sort", "r1", "store", "w1"),
        ("ACL", "DRYRUN", "erin", "publish", "ch1", "m"),
        ("ACL", "DRYRUN", "erin", "publish", "other", "m"),
        ("ACL", "DRYRUN", "erin", "subscribe", "ch1", "ch2", "x"),
        ("ACL", "DRYRUN", "erin", "psubscribe", "ch*"),
        ("ACL", "DRYRUN", "erin", "psubscribe", "ch1*"),
        ("ACL", "DRYRUN", "erin", "flushall"), ("ACL", "DRYRUN", "erin", "config", "get", "x"),
        ("ACL", "DRYRUN", "nobody", "get", "x"), ("ACL", "DRYRUN", "erin", "nosuch"),
        ("ACL", "DRYRUN", "erin", "get"), ("ACL", "DRYRUN", "erin", "config", "nosuch"),
        ("ACL", "DRYRUN", "default", "flushall"),
    ])


def _as_user(port: int, admin_script: Sequence[Request], user_script: Sequence[Request],
             after: Sequence[Request] = ()) -> list[bytes]:
    """Admin requests, then ``user_script`` on a connection logged in as alice."""
    out = run(port, admin_script)
    with RawClient(port) as user:
        out.append(user.call("AUTH", "alice", "pw"))
        out += [user.call(*req) for req in user_script]
    with RawClient(port) as admin:
        out += [admin.call(*req) for req in after]
    return out


def _log_without_times(reply: bytes) -> bytes:
    """An ACL LOG reply with age-seconds and client-info's varying fields blanked."""
    reply = re.sub(rb"(age-seconds\r\n)[$,][^\r]*\r\n(?:[^\r]*\r\n)?", rb"\1", reply)
    return re.sub(rb"\$\d+\r\nid=[^\r]*? (cmd=\S+ user=\S+)[^\r]*\r\n", rb"[\1]", reply)


def test_noperm_replies_for_commands_keys_and_channels(pair) -> None:
    admin = [("ACL", "SETUSER", "alice", "on", ">pw", "%R~r*", "%W~w*", "~rw*", "&ch*",
              "+@read", "+@write", "+@pubsub", "-@dangerous", "+acl|whoami")]
    user = [
        ("GET", "r1"), ("GET", "w1"), ("SET", "w1", "v"), ("SET", "r1", "v"),
        ("MSET", "w1", "a", "rw1", "b", "r1", "c"), ("MGET", "r1", "rw1", "w1"),
        ("COPY", "r1", "w2"), ("LPUSH", "w9", "x"), ("RPOPLPUSH", "w9", "rw9"),
        ("SET", "w1", "v", "GET"), ("APPEND", "rw3", "x"), ("KEYS", "*"), ("FLUSHALL",),
        ("CONFIG", "GET", "maxmemory"), ("ACL", "WHOAMI"), ("ACL", "LIST"),
        ("PUBLISH", "ch1", "m"), ("PUBLISH", "other", "m"), ("SPUBLISH", "nope", "m"),
        ("PING",), ("ECHO", "hi"),
    ]
    after = [("ACL", "LOG"), ("ACL", "LOG", "2")]
    same_sessions(pair, lambda port: [
        _log_without_times(r) for r in _as_user(port, admin, user, after)])


def test_subscribe_noperm_and_pattern_literal_match(pair) -> None:
    def session(port: int) -> list[bytes]:
        run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "&ch*", "&exact", "+@all")])
        out = []
        for cmd in (("SUBSCRIBE", "ch1", "exact"), ("SUBSCRIBE", "ch1", "nope"),
                    ("PSUBSCRIBE", "ch*"), ("PSUBSCRIBE", "ch1*"), ("SSUBSCRIBE", "x")):
            with RawClient(port) as user:
                user.call("AUTH", "alice", "pw")
                out.append(user.call(*cmd))
        return out

    same_sessions(pair, session)


def test_multi_refuses_queued_commands_and_rechecks_at_exec(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "~k*", "+@all")])
        with RawClient(port) as user, RawClient(port) as admin:
            out.append(user.call("AUTH", "alice", "pw"))
            out += [user.call("MULTI"), user.call("SET", "k1", "v"),
                    user.call("SET", "other", "v"), user.call("EXEC")]
            out += [user.call("MULTI"), user.call("SET", "k1", "v"), user.call("GET", "k1"),
                    user.call("PUBLISH", "c", "m")]
            out.append(admin.call("ACL", "SETUSER", "alice", "-get", "resetkeys", "~k2"))
            out.append(user.call("EXEC"))
            out.append(_log_without_times(admin.call("ACL", "LOG")))
        return out

    same_sessions(pair, session)


def test_rules_changed_by_another_client_apply_from_the_next_command(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "allkeys", "allchannels",
                          "+@all")])
        with RawClient(port) as user, RawClient(port) as admin:
            out.append(user.call("AUTH", "alice", "pw"))
            out += [user.call("SET", "k", "v"), user.call("GET", "k")]
            for rules in (("-get",), ("+get", "resetkeys", "~other"), ("allkeys",),
                          ("resetchannels",), ("allchannels", "-@all", "+@read")):
                out.append(admin.call("ACL", "SETUSER", "alice", *rules))
                out += [user.call("GET", "k"), user.call("SET", "k", "w")]
            out.append(admin.call("ACL", "SETUSER", "default", "-get"))
            out += [admin.call("GET", "k"), admin.call("ACL", "SETUSER", "default", "+get"),
                    admin.call("GET", "k")]
            out.append(_log_without_times(admin.call("ACL", "LOG")))
        return out

    same_sessions(pair, session)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_auth_and_hello_with_users(pair, resp3: bool) -> None:
    def session(port: int) -> list[bytes]:
        out = run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "+@all", "~*"),
                         ("ACL", "SETUSER", "bob", "off", ">pw", "+@all"),
                         ("ACL", "SETUSER", "carol", "on", "nopass", "+acl|whoami")])
        with RawClient(port) as c:
            if resp3:
                c.call("HELLO", "3")
            for req in (("AUTH", "pw"), ("AUTH", "alice", "bad"), ("AUTH", "bob", "pw"),
                        ("AUTH", "nobody", "x"), ("AUTH", "a", "b", "c"),
                        ("AUTH", "alice", "pw"), ("ACL", "WHOAMI"),
                        ("AUTH", "carol", "anything"), ("ACL", "WHOAMI"), ("GET", "x"),
                        ("HELLO", "2", "AUTH", "alice", "nope"),
                        ("AUTH", "default", "whatever"), ("ACL", "WHOAMI")):
                out.append(c.call(*req))
            hello = c.call("HELLO", "3", "AUTH", "alice", "pw")
            out.append(hello.split(b"version")[0])  # the versions differ: 7.2 and 7.0
            out.append(c.call("ACL", "WHOAMI"))
            out.append(_log_without_times(c.call("ACL", "LOG")))
        return out

    same_sessions(pair, session)


def test_requirepass_is_the_default_users_password(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = []
        with RawClient(port) as admin:
            out.append(admin.call("CONFIG", "SET", "requirepass", "s3cret"))
            out.append(admin.call("ACL", "LIST"))
            with RawClient(port) as c:
                out += [c.call("GET", "x"), c.call("AUTH", "wrong"), c.call("AUTH", "s3cret"),
                        c.call("ACL", "WHOAMI")]
            out.append(admin.call("CONFIG", "SET", "requirepass", ""))
            out.append(admin.call("ACL", "LIST"))
            with RawClient(port) as c:
                out += [c.call("AUTH", "x"), c.call("ACL", "WHOAMI")]
        return out

    same_sessions(pair, session)


def test_deleted_or_reset_users_lose_their_clients(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "+@all", "~*", "&*"),
                         ("ACL", "SETUSER", "sub", "on", ">pw", "+@all", "~*", "&a*", "&b")])
        with RawClient(port) as user, RawClient(port) as admin, \
                RawClient(port) as subscriber, RawClient(port) as keeper:
            out.append(user.call("AUTH", "alice", "pw"))
            out.append(subscriber.call("AUTH", "sub", "pw"))
            out.append(subscriber.call("SUBSCRIBE", "a1"))
            out.append(keeper.call("AUTH", "sub", "pw"))
            out.append(keeper.call("SUBSCRIBE", "b"))
            out.append(admin.call("ACL", "SETUSER", "sub", "&b"))  # superset: nobody goes
            out.append(admin.call("ACL", "SETUSER", "sub", "resetchannels", "&b"))
            out.append(subscriber.read_until_closed(2.0))
            out.append(keeper.call("PING"))
            out.append(admin.call("ACL", "DELUSER", "alice"))
            out.append(user.read_until_closed(2.0))
            out.append(admin.call("CLIENT", "KILL", "USER", "sub"))
            out.append(keeper.read_until_closed(2.0))
            out.append(admin.call("CLIENT", "KILL", "USER", "nobody"))
        return out

    same_sessions(pair, session)


def test_client_kill_user_closes_only_that_users_clients(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "+@all", "~*")])
        with RawClient(port) as a1, RawClient(port) as a2, RawClient(port) as admin:
            a1.call("AUTH", "alice", "pw")
            a2.call("AUTH", "alice", "pw")
            out.append(admin.call("CLIENT", "KILL", "USER", "alice"))
            out.append(admin.call("PING"))
            out.append(admin.call("CLIENT", "KILL", "USER", "default", "SKIPME", "yes"))
        return out

    same_sessions(pair, session)


def test_info_counts_denials(pair) -> None:
    node, _ = pair
    r = redis.Redis(port=node.port)
    r.execute_command("ACL", "SETUSER", "dave", "on", ">pw", "~k*", "&c", "+get", "+publish")
    before = r.info("stats")
    user = redis.Redis(port=node.port, username="dave", password="pw",
                       driver_info=redis.DriverInfo(name=None, lib_version=None))
    # (no CLIENT SETINFO on connecting: dave may not run it, each refusal would count)
    for call in (("SET", "k", "v"), ("GET", "x"), ("PUBLISH", "d", "m")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            user.execute_command(*call)
    with RawClient(node.port) as c:
        assert c.call("AUTH", "dave", "bad").startswith(b"-WRONGPASS")
    after = r.info("stats")
    for field in ("cmd", "key", "channel", "auth"):
        name = f"acl_access_denied_{field}"
        assert after[name] == before[name] + 1, name
    r.execute_command("ACL", "DELUSER", "dave")


def test_acllog_max_len_trims_the_log(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "~k*", "+get"),
                         ("CONFIG", "SET", "acllog-max-len", "2")])
        with RawClient(port) as user:
            user.call("AUTH", "alice", "pw")
            for key in ("a", "b", "c", "a"):
                user.call("GET", key)
        with RawClient(port) as admin:
            out.append(_log_without_times(admin.call("ACL", "LOG")))
            out.append(admin.call("CONFIG", "GET", "acllog-max-len"))
            out.append(admin.call("CONFIG", "SET", "acllog-max-len", "128"))
        return out

    same_sessions(pair, session)


def test_acl_pubsub_default_allchannels_for_new_users(pair) -> None:
    same(pair, [
        ("CONFIG", "GET", "acl-pubsub-default"),
        ("CONFIG", "SET", "acl-pubsub-default", "allchannels"),
        ("ACL", "SETUSER", "bob", "(~x +get)"), ("ACL", "GETUSER", "bob"), ("ACL", "LIST"),
        ("ACL", "SETUSER", "bob", "reset"), ("ACL", "LIST"),
        ("CONFIG", "SET", "acl-pubsub-default", "resetchannels"),
        ("ACL", "SETUSER", "carol"), ("ACL", "LIST"),
        ("CONFIG", "SET", "acl-pubsub-default", "bogus"),
    ])


def test_acl_save_writes_the_file_redis_writes(tmp_path) -> None:
    texts = []
    for start in (start_node, start_redis_server):
        path = tmp_path / f"{start.__name__}.acl"
        path.write_text("")
        server = start("--aclfile", str(path))
        try:
            with RawClient(server.port) as c:
                for rules in (["on", ">pw", "~app:*", "&ch", "+@read", "-@keyspace"],
                              ["off", "#" + "a" * 64, "%R~r*", "(+get ~x*)"],
                              ["on", "nopass", "allkeys", "allchannels", "+@all", "-flushall"]):
                    assert c.call("ACL", "SETUSER", f"u{len(rules)}{rules[0]}", *rules) == b"+OK\r\n"
                assert c.call("ACL", "SAVE") == b"+OK\r\n"
                texts.append(path.read_bytes())
                path.write_bytes(texts[-1] + b"user extra on nopass +ping\n")
                assert c.call("ACL", "LOAD") == b"+OK\r\n"
                texts.append(c.call("ACL", "LIST"))
                path.write_bytes(b"user broken on +nosuch bogus\nnotauser\n")
                texts.append(c.call("ACL", "LOAD").replace(str(path).encode(), b"PATH"))
                texts.append(c.call("ACL", "USERS"))
        finally:
            server.stop()
    half = len(texts) // 2
    assert texts[:half] == texts[half:]


def test_aclfile_loads_at_start(tmp_path) -> None:
    acl = tmp_path / "users.acl"
    acl.write_text("user alice on >pw ~a* +get\nuser default on nopass ~* &* +@all\n")
    for start in (start_node, start_redis_server):
        server = start("--aclfile", str(acl))
        try:
            r = redis.Redis(port=server.port, username="alice", password="pw")
            assert r.get("a1") is None
            with pytest.raises(redis.exceptions.NoPermissionError):
                r.get("b1")
        finally:
            server.stop()


def test_user_directives_define_users_at_start() -> None:
    directives = ("--user", "bob", "on", ">pw", "~b*", "+@read",
                  "--user", "default", "on", ">adminpw", "~*", "&*", "+@all")
    lists = []
    for start in (start_node, start_redis_server):
        server = start(*directives)
        try:
            admin = redis.Redis(port=server.port, password="adminpw")
            lists.append(admin.execute_command("ACL", "LIST"))
            bob = redis.Redis(port=server.port, username="bob", password="pw")
            assert bob.get("b") is None
            with pytest.raises(redis.exceptions.NoPermissionError):
                bob.set("b", "v")
        finally:
            server.stop()
    assert lists[0] == lists[1]


def test_redis_py_connects_with_username_and_password(pair) -> None:
    node, _ = pair
    admin = redis.Redis(port=node.port)
    admin.acl_setuser("alice", enabled=True, passwords=["+pw"], keys=["app:*"],
                      commands=["+@string", "+@connection"])
    for protocol in (2, 3):
        client = redis.Redis(port=node.port, username="alice", password="pw",
                             protocol=protocol)
        assert client.set("app:1", "v")
        assert client.get("app:1") == b"v"
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("other", "v")
        client.close()
    assert admin.acl_getuser("alice")["keys"] == ["~app:*"]
    admin.acl_deluser("alice")


def _wait_link_up(port: int, timeout: float = 15.0) -> None:
    r = redis.Redis(port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.info("replication").get("master_link_status") == "up":
            return
        time.sleep(0.1)
    raise AssertionError("the replica's link to its master never came up")


REPLICATION_USER = ("--user", "repl", "on", ">rpw", "+psync", "+replconf", "+ping",
                    "--requirepass", "adminpw")


@pytest.mark.parametrize("roles", ["redslot-replica", "redslot-master"])
def test_replica_authenticates_with_masteruser_and_masterauth(roles: str) -> None:
    start_master, start_replica = ((start_redis_server, start_node) if roles == "redslot-replica"
                                   else (start_node, start_redis_server))
    master = start_master(*REPLICATION_USER)
    try:
        admin = redis.Redis(port=master.port, password="adminpw")
        admin.set("k", "v")
        replica = start_replica("--masteruser", "repl", "--masterauth", "rpw",
                                "--replicaof", "127.0.0.1", str(master.port))
        try:
            _wait_link_up(replica.port)
            admin.set("k2", "v2")
            r = redis.Redis(port=replica.port)
            deadline = time.monotonic() + 10
            while r.get("k2") is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (r.get("k"), r.get("k2")) == (b"v", b"v2")
            log = admin.execute_command("ACL", "LOG")
            assert log == []
        finally:
            replica.stop()
    finally:
        master.stop()


def test_replica_with_a_wrong_masteruser_stays_unlinked() -> None:
    master = start_node(*REPLICATION_USER)
    try:
        replica = start_node("--masteruser", "repl", "--masterauth", "wrong",
                             "--replicaof", "127.0.0.1", str(master.port))
        try:
            time.sleep(1.5)
            r = redis.Redis(port=replica.port)
            assert r.info("replication")["master_link_status"] == "down"
            log = redis.Redis(port=master.port, password="adminpw").execute_command("ACL", "LOG")
            assert log and log[0][b"reason"] == b"auth" and log[0][b"username"] == b"repl"
        finally:
            replica.stop()
    finally:
        master.stop()


def test_sort_by_and_get_patterns_need_read_access_to_every_key(pair) -> None:
    def session(port: int) -> list[bytes]:
        out = []
        for keys in (["~rw*"], ["%R~*", "~rw*"], ["%W~*", "~rw*"], ["(~* +sort)", "~rw*"]):
            run(port, [("ACL", "SETUSER", "alice", "on", ">pw", "+@all", *keys),
                       ("RPUSH", "rw1", "2", "1")])
            with RawClient(port) as user:
                user.call("AUTH", "alice", "pw")
                out += [user.call("SORT", "rw1", "BY", "w_*"), user.call("SORT", "rw1", "BY", "nosort"),
                        user.call("SORT", "rw1", "GET", "#"), user.call("SORT_RO", "rw1", "GET", "x*")]
        return out

    same_sessions(pair, session)


CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
              "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
              "blocking", "dangerous", "connection", "transaction", "scripting", "all")
COMMANDS = ("get", "set", "del", "config", "config|get", "config|set", "client|list",
            "client", "keys", "flushall", "publish", "subscribe", "xadd", "pfadd", "eval",
            "info", "ping", "acl|whoami", "object|encoding", "hset", "zadd", "lpush")


def random_rules(rng: random.Random) -> list[str]:
    rules = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.4:
            rules.append(rng.choice("+-") + "@" + rng.choice(CATEGORIES))
        elif kind < 0.75:
            rules.append(rng.choice("+-") + rng.choice(COMMANDS))
        elif kind < 0.8:
            rules.append(rng.choice(["allcommands", "nocommands", "+select|0", "+debug|x"]))
        elif kind < 0.9:
            rules.append(rng.choice(["~a*", "%R~b", "%W~b", "resetkeys", "allkeys", "%RW~c?"]))
        else:
            rules.append(rng.choice(["&x", "&y*", "resetchannels", "allchannels"]))
    return rules


@pytest.mark.parametrize("seed", range(3))
def test_random_rules_render_as_redis(pair, seed: int) -> None:
    rng = random.Random(seed)
    script: list[Request] = []
    for _ in range(60):
        rules = random_rules(rng)
        if rng.random() < 0.3:
            rules = ["(" + " ".join(rules) + ")"] + random_rules(rng)
        script += [("ACL", "SETUSER", "alice", "reset", *rules), ("ACL", "GETUSER", "alice"),
                   ("ACL", "LIST")]
    same(pair, script)


def _start_with_file(binary: list[str], path: str) -> ServerProcess:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="acl-rewrite-")
    return ServerProcess([*binary, path, "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", workdir, "--save", ""], port, workdir)


def test_config_rewrite_writes_the_users_as_redis_does(tmp_path) -> None:
    texts = []
    for name, binary in (("ours", [sys.executable, "-m", "redslot.cli", "node"]),
                         ("theirs", ["redis-server"])):
        path = tmp_path / f"{name}.conf"
        path.write_text("user old on nopass +@all\nhz 11\n")
        server = _start_with_file(binary, str(path))
        try:
            r = redis.Redis(port=server.port)
            r.execute_command("ACL", "SETUSER", "alice", "on", ">pw", "~a*", "+get")
            r.execute_command("ACL", "DELUSER", "old")
            r.execute_command("CONFIG", "REWRITE")
        finally:
            server.stop()
        texts.append([line for line in path.read_text().splitlines()
                      if line.startswith(("user ", "hz "))])
    assert texts[0] == texts[1]
    assert texts[0][0].startswith("user alice on #")


def test_scripts_check_each_call_against_the_users_rules(node: ServerProcess,
                                                         reference: ServerProcess) -> None:
    """scriptVerifyACL: redis.call / pcall of a command, key or channel the user may not use
    fails with Redis's text, logged in the "lua" context."""
    assert_same(node, reference, [
        ("ACL", "SETUSER", "scripter", "on", ">pw", "+eval", "+get", "+publish", "~allowed*",
         "resetchannels", "&chan"),
        ("AUTH", "scripter", "pw"),
        ("EVAL", "return redis.call('set', 'allowed', '1')", "0"),
        ("EVAL", "return redis.call('get', 'other')", "0"),
        ("EVAL", "return redis.pcall('get', 'other')", "0"),
        ("EVAL", "return redis.call('get', 'allowed')", "0"),
        ("EVAL", "return redis.call('publish', 'other', 'x')", "0"),
        ("EVAL", "return redis.call('publish', 'chan', 'x')", "0"),
        ("AUTH", "default", "x"),
    ])
    for server in (node, reference):
        with RawClient(server.port) as c:
            log = c.call("ACL", "LOG", "3")
            assert b"$7\r\ncontext\r\n$3\r\nlua\r\n" in log
            c.call("ACL", "DELUSER", "scripter")
            c.call("ACL", "LOG", "RESET")
