"""COMMAND and its subcommands: Redis 7's entries, key extraction and errors.

The reference is Debian's redis-server 7.0.15 while the facts are 7.2's, so comparisons
use commands whose facts did not change between the two. Key specs carry no ``notes``
here (they are prose, which the project does not copy), so entries are compared as parsed
structures with the reference's notes removed; the derived facts
(legacy key range, movablekeys, implicit ACL categories, key extraction) are checked for
every command of the 7.2 table against the reference server.
"""

from __future__ import annotations

import json
from pathlib import Path

import hiredis
import pytest
import redis
from differential import assert_same, assert_same_resp3
from redis._parsers import CommandsParser
from redslot.node.commands.command import command_info, key_flags
from redslot.node.protocol.reply import encode
from redslot.node.table.command import Command
from redslot.node.table.specs import SPECS
from resp import RawClient

# Commands whose COMMAND INFO is the same in 7.0 and 7.2 (compared when implemented).
UNCHANGED_SINCE_7_0 = (
    "get", "set", "mget", "del", "echo", "ping", "exists", "incr", "incrby", "decr",
    "append", "strlen", "getrange", "setrange", "setnx", "setex", "psetex", "getdel",
    "getex", "getset", "mset", "incrbyfloat", "select", "auth", "hello", "quit", "reset",
    "unlink", "type", "expire", "ttl", "keys", "dbsize", "command",
)

# Entries whose 7.2 facts differ from 7.0.15 (new commands, tips, flags, arity).
CHANGED_IN_7_2 = {
    "acl|deluser", "acl|save", "acl|setuser", "blmove", "blpop", "brpop", "brpoplpush",
    "bzpopmax", "bzpopmin", "client|no-touch", "client|setinfo", "client|setname",
    "cluster|myshardid", "cluster|shards", "cluster|slots", "command|getkeys",
    "command|getkeysandflags", "config|resetstat", "config|rewrite", "latency|reset",
    "msetnx", "randomkey", "scan", "wait", "waitaof", "zrank", "zrevrank",
}

# redslot's own commands (scripts/commands/*.json): Redis has nothing to compare them with.
def own_commands() -> set[str]:
    """redslot's own commands (scripts/commands/*.json): Redis has nothing to compare."""
    names = set()
    for path in (Path(__file__).resolve().parents[2] / "scripts" / "commands").glob("*.json"):
        for name, spec in json.loads(path.read_text()).items():
            container = spec.get("container")
            names.add(f"{container.lower()}|{name.lower()}" if container else name.lower())
    return names


OWN_COMMANDS = own_commands()


def parsed_without_notes(raw: bytes):
    """A raw COMMAND reply parsed, with every key-spec ``notes`` pair removed."""
    reader = hiredis.Reader()
    reader.feed(raw)
    return _drop_notes(reader.gets())


def _drop_notes(value):
    if isinstance(value, dict):
        return {k: _drop_notes(v) for k, v in value.items() if k != b"notes"}
    if isinstance(value, list):
        out, i = [], 0
        while i < len(value):
            if value[i] == b"notes" and i % 2 == 0 and i + 1 < len(value):
                i += 2
                continue
            out.append(_drop_notes(value[i]))
            i += 1
        return out
    return value


def assert_same_entries(node, reference, request, hello3: bool = False) -> None:
    replies = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            if hello3:
                c.call("HELLO", "3")
            replies.append(parsed_without_notes(c.call(*request)))
    assert replies[0] == replies[1]


def implemented(node, names):
    with RawClient(node.port) as c:
        return [n for n in names if not c.call("COMMAND", "INFO", n).startswith(b"*1\r\n$-1")]


def full_table() -> dict[str, Command]:
    """Every command of the 7.2 facts, implemented here or not, with its subcommands."""
    table = {name: Command(spec, None, None) for name, spec in SPECS.items() if "|" not in name}
    for name, spec in SPECS.items():
        if "|" in name:
            parent = table[spec["container"]]
            if parent.subcommands is None:
                parent.subcommands = {}
            parent.subcommands[spec["name"]] = Command(spec, None, None, parent)
    return table


def resp2(value) -> bytes:
    out: list[bytes] = []
    encode(out, value, False)
    return b"".join(out)


def test_command_info_matches_redis_for_commands_unchanged_since_7_0(node, reference):
    names = [n for n in implemented(node, UNCHANGED_SINCE_7_0) if n != "command"]
    assert "echo" in names and "ping" in names
    assert_same_entries(node, reference, ("COMMAND", "INFO", *names))
    assert_same_entries(node, reference, ("COMMAND", "INFO", *names), hello3=True)


def test_command_info_of_a_container_lists_its_implemented_subcommands(node):
    r = redis.Redis(port=node.port, protocol=2)
    entry = r.execute_command("COMMAND INFO", "command")[0]
    assert entry[:6] == [b"command", -1, [b"loading", b"stale"], 0, 0, 0]
    subs = {sub[0] for sub in entry[9]}
    assert {b"command|info", b"command|getkeys", b"command|count", b"command|docs"} <= subs
    assert all(len(sub) == 10 for sub in entry[9])


def test_unknown_names_in_command_info_are_nil_and_lookups_ignore_case(node, reference):
    assert_same(node, reference, [
        ("COMMAND", "INFO", "nosuch", "EcHo", "command|INFO", "command|nosuch", "a|b|c"),
    ])


def test_derived_facts_of_every_command_match_redis(reference):
    """Legacy first/last/step, movablekeys, ACL categories and key specs, all commands."""
    mismatches = []
    with RawClient(reference.port) as ref:
        for cmd in full_table().values():
            for entry in [cmd, *(cmd.subcommands or {}).values()]:
                if entry.fullname in CHANGED_IN_7_2 or entry.fullname in OWN_COMMANDS:
                    continue
                info = command_info(entry)
                theirs = ref.call("COMMAND", "INFO", entry.fullname)
                if entry.subcommands is None:
                    ours = resp2([info])
                else:
                    ours = resp2([info[:9]]).replace(b"*9\r\n", b"*10\r\n", 1)
                    theirs = theirs[:len(ours)]
                if parsed_without_notes(ours) != parsed_without_notes(theirs):
                    mismatches.append(entry.fullname)
    assert mismatches == []


def test_command_lists_exactly_the_implemented_commands(node):
    r = redis.Redis(port=node.port, protocol=2)
    table = r.execute_command("COMMAND INFO")
    names = {entry[0].decode() for entry in table}
    assert r.execute_command("COMMAND COUNT") == len(table)
    assert {"command", "info", "echo", "ping"} <= names
    listed = {n.decode() for n in r.execute_command("COMMAND LIST")}
    assert names <= listed and "command|getkeys" in listed
    missing = sorted(n for n in SPECS if "|" not in n and n not in names)
    assert missing, "every Redis command is implemented: pick another absent one"
    assert r.execute_command("COMMAND INFO", missing[0]) == [None]
    with pytest.raises(redis.ResponseError, match="unknown command"):
        r.execute_command(missing[0])


def test_redis_py_parses_the_command_table_in_both_protocols(node):
    for protocol in (2, 3):
        r = redis.Redis(port=node.port, protocol=protocol)
        table = r.command()
        assert table["echo"]["arity"] == 2
        assert set(table["echo"]["flags"]) == {"loading", "stale", "fast"}
        parser = CommandsParser(r)
        assert parser.get_keys(r, "ECHO", "x") is None
        if "mget" in table:
            assert parser.get_keys(r, "MGET", "a", "b") == ["a", "b"]


def test_command_list_filters_by_pattern_category_and_module(node):
    r = redis.Redis(port=node.port, protocol=2)
    listed = [n.decode() for n in r.execute_command("COMMAND LIST")]
    by_pattern = r.execute_command("COMMAND LIST", "FILTERBY", "PATTERN", "COMMAND|*")
    assert sorted(n.decode() for n in by_pattern) == sorted(
        n for n in listed if n.startswith("command|"))
    by_case = r.execute_command("COMMAND LIST", "FILTERBY", "pattern", "E?H[n-p]")
    assert by_case == [b"echo"]
    connection = r.execute_command("COMMAND LIST", "FILTERBY", "ACLCAT", "Connection")
    assert {b"echo", b"ping", b"command", b"command|info"} <= set(connection)
    assert b"info" not in connection
    assert r.execute_command("COMMAND LIST", "FILTERBY", "ACLCAT", "nosuch") == []
    assert r.execute_command("COMMAND LIST", "FILTERBY", "MODULE", "any") == []


def test_command_list_syntax_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("COMMAND", "LIST", "FILTERBY"),
        ("COMMAND", "LIST", "FILTERBY", "nosuch", "x"),
        ("COMMAND", "LIST", "FILTERBY", "PATTERN"),
        ("COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b"),
        ("COMMAND", "LIST", "nosuch"),
    ])


def test_getkeys_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("COMMAND", "GETKEYS", "nosuch", "a"),
        ("COMMAND", "GETKEYS", "ping", "a"),
        ("COMMAND", "GETKEYS", "echo", "a"),
        ("COMMAND", "GETKEYS", "select", "1"),
        ("COMMAND", "GETKEYSANDFLAGS", "nosuch", "a"),
        ("COMMAND", "GETKEYS", "command", "info"),
    ])


def test_getkeys_arity_errors(node):
    with RawClient(node.port) as c:
        for args in (("GET",), ("GET", "a", "b"), ("MGET",)):
            if c.call("COMMAND", "INFO", args[0]).startswith(b"*1\r\n$-1"):
                continue
            assert c.call("COMMAND", "GETKEYS", *args) == (
                b"-ERR Invalid number of arguments specified for command\r\n")


GETKEYS_CASES = [
    ("GET", "k"),
    ("SET", "k", "v"),
    ("SET", "k", "v", "GET"),
    ("SET", "k", "v", "EX", "10", "get"),
    ("MSET", "a", "1", "b", "2"),
    ("MGET", "a", "b", "c"),
    ("MSETNX", "a", "1", "b", "2"),
    ("DEL", "a", "b"),
    ("GETEX", "k", "PERSIST"),
    ("INCRBYFLOAT", "k", "1.5"),
    ("LCS", "a", "b", "LEN"),
]


def test_getkeys_matches_redis_on_implemented_commands(node, reference):
    cases = [case for case in GETKEYS_CASES if implemented(node, [case[0].lower()])]
    assert cases, "no keyed command implemented yet"
    script = [("COMMAND", verb, *case) for case in cases
              for verb in ("GETKEYS", "GETKEYSANDFLAGS")]
    assert_same(node, reference, script)
    assert_same_resp3(node, reference, script)


EXTRACTION_CASES = [
    ("SET", "k", "v", "XX"),
    ("SET", "k", "v", "GET"),
    ("BITFIELD", "k", "GET", "u8", "0"),
    ("BITFIELD", "k", "GET", "u8", "0", "SET", "u8", "0", "1"),
    ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1"),
    ("SORT", "k", "BY", "w*", "LIMIT", "0", "1", "STORE", "dst"),
    ("SORT", "k", "STORE", "a", "STORE", "b"),
    ("SORT_RO", "k", "BY", "x"),
    ("MIGRATE", "h", "1", "k", "0", "10"),
    ("MIGRATE", "h", "1", "", "0", "10", "COPY", "AUTH", "p", "KEYS", "a", "b"),
    ("MIGRATE", "h", "1", "", "0", "10", "AUTH2", "u", "p", "KEYS", "a"),
    ("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
    ("ZUNIONSTORE", "d", "0", "a"),
    ("ZINTER", "2", "a", "b"),
    ("ZDIFF", "x", "a"),
    ("EVAL", "return 1", "2", "a", "b", "c"),
    ("EVAL", "return 1", "0"),
    ("FCALL", "f", "1", "a"),
    ("LMPOP", "2", "a", "b", "LEFT"),
    ("BLMPOP", "0", "1", "a", "LEFT"),
    ("SINTERCARD", "2", "a", "b"),
    ("XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"),
    ("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "dst"),
    ("GEORADIUS", "k", "0", "0", "1", "km", "STORE"),
    ("GEORADIUSBYMEMBER", "k", "m", "1", "km", "STOREDIST", "d"),
    ("RENAME", "a", "b"),
    ("LMOVE", "a", "b", "LEFT", "RIGHT"),
    ("OBJECT", "ENCODING", "k"),
    ("XINFO", "STREAM", "s"),
    ("MEMORY", "USAGE", "k"),
    ("PFCOUNT", "a", "b"),
    ("SUBSCRIBE", "c"),
    ("PUBLISH", "c", "m"),
    ("BLPOP", "a", "b", "0"),
    ("MSET", "a", "1", "b"),
    ("ZADD", "k", "1"),
    ("GETEX", "k"),
]


def lookup(table: dict[str, Command], argv: tuple[str, ...]) -> Command:
    cmd = table[argv[0].lower()]
    if cmd.subcommands is not None:
        cmd = cmd.subcommands[argv[1].lower()]
    return cmd


@pytest.mark.parametrize("argv", EXTRACTION_CASES, ids=lambda a: " ".join(a))
def test_key_extraction_matches_redis_for_every_kind_of_key_spec(reference, argv):
    """The table's keys_and_flags against the real server, commands implemented or not."""
    cmd = lookup(full_table(), argv)
    encoded = [a.encode() for a in argv]
    keys = cmd.keys_and_flags(encoded)
    with RawClient(reference.port) as ref:
        theirs = ref.call("COMMAND", "GETKEYSANDFLAGS", *argv)
    if theirs.startswith(b"-"):
        wrong_arity = (cmd.arity > 0 and cmd.arity != len(argv)) or len(argv) < -cmd.arity
        assert wrong_arity or (not keys and "no_mandatory_keys" not in cmd.flags)
        return
    assert resp2([[encoded[pos], key_flags(flags)] for pos, flags in keys]) == theirs
    assert cmd.keys(encoded) == [pos for pos, _ in keys]


def test_command_docs_gives_facts_without_prose(node, reference):
    theirs = redis.Redis(port=reference.port, protocol=3).execute_command(
        "COMMAND DOCS", "echo", "nosuch", "ping")
    ours = redis.Redis(port=node.port, protocol=3).execute_command(
        "COMMAND DOCS", "echo", "nosuch", "ping")
    assert set(ours) == {b"echo", b"ping"} == set(theirs)
    for name in (b"echo", b"ping"):
        expected = {k: v for k, v in theirs[name].items()
                    if k not in (b"summary", b"complexity", b"history")}
        for arg in ours[name].get(b"arguments", ()):
            assert arg.pop(b"display_text") == arg[b"name"]  # added in 7.2
        assert ours[name] == expected


def test_command_docs_of_a_deprecated_command_names_its_replacement(node):
    r = redis.Redis(port=node.port, protocol=3)
    docs = r.execute_command("COMMAND DOCS", "getset", "setex")
    if b"getset" in docs:
        assert docs[b"getset"][b"doc_flags"] == [b"deprecated"]
        assert docs[b"getset"][b"deprecated_since"] == b"6.2.0"
        assert b"SET" in docs[b"getset"][b"replaced_by"]
    args = {a[b"name"]: a for a in r.execute_command("COMMAND DOCS", "command")[
        b"command"][b"subcommands"][b"command|info"][b"arguments"]}
    assert args[b"command-name"][b"flags"] == [b"optional", b"multiple"]
    assert b"summary" not in args[b"command-name"]


def test_command_help_matches_redis_7_0(node, reference):
    assert_same(node, reference, [("COMMAND", "HELP"), ("command", "help")])


def test_command_count_and_unknown_subcommand(node, reference):
    assert_same(node, reference, [("COMMAND", "NOSUCH"), ("COMMAND", "COUNT", "x")])
