"""EVAL, EVALSHA, SCRIPT and Functions against Debian's redis-server: replies and error
texts byte for byte in RESP2 and RESP3, the sandbox, conversions both ways, shebang flags,
FUNCTION DUMP/RESTORE across both servers, persistence, replication by effects, busy
scripts, and the patterns users copy (redis-py's Lock, rate limiters) under concurrency.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis
from differential import assert_same, assert_same_resp3
from nodes import start_node, start_redis_server
from resp import RawClient

SCRIPTS = [
    "return 1",
    "return {1, 2, 3.7, 'x', nil, 4}",
    "return {1, {2, {3}}, true, false}",
    "return {err = 'x'}",
    "return {ok = 'fine\\r\\nline'}",
    "return redis.error_reply('MY err')",
    "return redis.error_reply('-WRONG thing')",
    "return redis.status_reply('FINE')",
    "return 1e300",
    "return -3.9",
    "return 0/0",
    "return redis.sha1hex('')",
    "return redis.sha1hex(12)",
    "return tostring(1/3) .. ' ' .. tostring(1e15) .. ' ' .. string.format('%.3f', 1/3)",
    "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM",
    "return {KEYS[1], ARGV[1], #KEYS, #ARGV}",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "return redis.call('get', KEYS[1])",
    "return redis.call('get', 'missing')",
    "return redis.call('incrbyfloat', KEYS[1], 1.5)",
    "return redis.call('set', KEYS[1], 3.25)",
    "return redis.call('incr', KEYS[1])",
    "return redis.call('nosuch')",
    "return redis.call('incr', 'a', 'b')",
    "return redis.call()",
    "return redis.call('get', {})",
    "redis.call('hset', 'h', 'a', 'b'); return redis.call('incr', 'h')",
    "return redis.pcall('incr', 'h')",
    "local t = redis.pcall('incr', 'h'); return t['err']",
    "return redis.call('hgetall', 'h')",
    "return redis.call('blpop', 'nolist', 0)",
    "return redis.call('multi')",
    "return redis.call('subscribe', 'ch')",
    "return pcall(redis.call, 'nosuch')",
    "return {pcall(error, {err = 'x'})}",
    "error('boom')",
    "error({err = 'MY boom'})",
    "return 1 +",
    "local a = nil; return a.b",
    "return redis.log(redis.LOG_WARNING, 'from a script')",
    "return redis.log(1)",
    "return redis.setresp(4)",
    "return redis.set_repl(redis.REPL_ALL)",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return {math.random(), math.random(100), math.random(5, 10)}",
    "return cjson.encode({1, 2, {a = 1}, 'x/y', 1.5})",
    "return cjson.encode({})",
    "return cjson.decode('[1, 2.5, \"a\", {\"k\": [true, false]}]')[4]['k']",
    "return cjson.decode('{')",
    "return cjson.decode('[1,]')",
    "return cjson.encode(cjson.decode('{\"a\": null}'))",
    "return bit.band(7, 3) + bit.bor(8, 1) + bit.lshift(1, 4)",
    "return bit.tohex(-1) .. ' ' .. bit.tohex(255, 4) .. ' ' .. bit.bnot(0)",
    "return cmsgpack.pack({1, 2, 3})",
    "return cmsgpack.pack({a = 1}, 'str', -1, 2^40, 1.5)",
    "return {cmsgpack.unpack(cmsgpack.pack({1, 2, {3}}, 'x'))}",
    "return struct.pack('>I2', 5) .. struct.pack('<i4', -2)",
    "return {struct.unpack('>I2 <i4', struct.pack('>I2', 5) .. struct.pack('<i4', -2))}",
    "return struct.size('>I2 i4 d')",
]

SANDBOX = [
    "x = 1",
    "return a",
    "os.execute('true')",
    "return io.open('/etc/passwd')",
    "return require('os')",
    "return loadfile('/etc/passwd')",
    "return dofile('/etc/passwd')",
    "return print",
    "return debug",
    "return loadstring(string.dump(function() return 1 end))()",
    "return select(2, loadstring(string.dump(function() return 1 end)))",
    "return loadstring('return 7')()",
    "setmetatable(_G, {})",
    "rawset(_G, 'a', 1)",
    "redis.call = function() return 1 end",
    "redis.x = 1",
    "string.upper = nil",
    "getmetatable('').x = 1",
    "return getmetatable(_G) ~= nil",
    "return string.x",
    "_G.y = 1",
    "return type(getfenv)",
    "return type(redis.call)",
    "return getmetatable(redis.call)",
    "return string.sub(tostring(redis.call), 1, 9)",
    "getmetatable(redis.call).__call = nil",
    "return type(newproxy)",
    "return type(__redis__err__handler)",
    "local t = setmetatable({}, {__index = function(t, k) return k end}); return t.abc",
    "return coroutine.wrap(function() return redis.call('ping') end)()",
]


@pytest.fixture(scope="module")
def node():
    proc = start_node()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def reference():
    proc = start_redis_server()
    yield proc
    proc.stop()


def evals(scripts: list[str]) -> list[tuple[str, ...]]:
    return [("EVAL", s, "1", "key", "12") for s in scripts]


def test_eval_replies_and_errors_match_redis(node, reference):
    assert_same(node, reference, evals(SCRIPTS))


def test_eval_replies_match_redis_in_resp3(node, reference):
    assert_same_resp3(node, reference, evals(SCRIPTS))


def test_sandbox_refuses_what_redis_refuses(node, reference):
    assert_same(node, reference, evals(SANDBOX))


LIBRARY_CASES = [
    'return cjson.encode({1, 2, 3, nil, 5})',
    'return cjson.encode({[1]=1, [2]=2, [20]=3})',
    'return cjson.encode({[1]=1, [2]=2, [10]=3})',
    'return cjson.encode({a={b={c={}}}})',
    'return cjson.encode("\\1\\127\\255/\\"\\\\")',
    'return cjson.encode(0.1)',
    'return cjson.encode(1e20)',
    'return cjson.encode(1/0)',
    'return cjson.encode(function() end)',
    'return cjson.encode({[true]=1})',
    'return cjson.encode({[1.5]=1})',
    'return cjson.encode(nil)',
    'return cjson.encode()',
    'return cjson.encode({1, 2}, 3)',
    'return cjson.decode(\'"\\\\u00e9\\\\ud83d\\\\ude00"\')',
    "return cjson.decode('  [1e2, -0.5, 0x10]')",
    "return cjson.decode('[1, 2')",
    'return cjson.decode(\'{"a":1,}\')',
    "return cjson.decode('nul')",
    'return cjson.decode(\'"abc\')',
    "return cjson.decode('[1] x')",
    "return cjson.decode('')",
    'return cjson.decode(\'{"a":[1,{"b":null}]}\')["a"][2]["b"] == cjson.null',
    'return type(cjson.null)',
    'return cjson.decode(123)',
    'return cjson.decode(nil)',
    'return cjson.decode(\'"\\\\x"\')',
    "return cjson.decode('1.5e')",
    "return cjson.decode('[Infinity]')",
    "return cjson.decode('[NaN]')",
    "return cjson.decode('-')",
    "return cjson.decode('01')",
    'return cmsgpack.pack(nil, true, false)',
    'return cmsgpack.pack(127, 128, 255, 256, 65535, 65536, 2^32, -1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31-1)',
    'return cmsgpack.pack(0.5, 0.1, 1e300, -1.5)',
    "return cmsgpack.pack(string.rep('x', 31), string.rep('y', 32))",
    'return cmsgpack.pack({1, nil, 3})',
    'return cmsgpack.pack({})',
    'return cmsgpack.pack({a=1, b={c=2}})',
    'return cmsgpack.pack()',
    "return {cmsgpack.unpack('\\147\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\129\\161a\\1')}",
    "return {cmsgpack.unpack('\\193')}",
    "return {cmsgpack.unpack('\\146\\1')}",
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}',
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 2)}',
    'return {cmsgpack.unpack(cmsgpack.pack(0.5, 2^40, -2^40))}',
    "return struct.pack('b B h H', -1, 255, -2, 65535)",
    "return struct.pack('<l >L', -5, 7)",
    "return struct.pack('i3', 70000)",
    "return struct.pack('f d', 1.5, 2.25)",
    "return struct.pack('s c3', 'ab', 'xyz')",
    "return struct.pack('c0', 'abc')",
    "return struct.pack('x b', 1)",
    "return {struct.unpack('b B', '\\255\\255')}",
    "return {struct.unpack('>h', '\\255\\254')}",
    "return {struct.unpack('s', 'ab\\0cd')}",
    "return {struct.unpack('c2', 'abcd', 2)}",
    "return {struct.unpack('i', 'ab')}",
    "return struct.size('b h i l d')",
    "return struct.pack('q', 1)",
    "return struct.pack('i9', 1)",
    "return struct.pack('b')",
    "return struct.pack('!4 b i', 1, 2)",
    'return bit.tobit(2^32 + 5)',
    "return bit.tobit(1.5) .. ' ' .. bit.tobit(2.5) .. ' ' .. bit.tobit(-1.5)",
    'return bit.band()',
    "return bit.band('a')",
    "return bit.band('12', 5)",
    "return bit.lshift(1, 31) .. ' ' .. bit.lshift(1, 32) .. ' ' .. bit.rshift(-1, 28) .. ' ' .. bit.arshift(-256, 4)",
    "return bit.rol(0x12345678, 8) .. ' ' .. bit.ror(0x12345678, 8) .. ' ' .. bit.bswap(0x12345678)",
    "return bit.tohex(0x1234, -6) .. ' ' .. bit.tohex(1, 0) .. ' ' .. bit.tohex(-1, 12)",
    'return bit.bxor(1, 3, 7)',
    'return tostring(bit.tobit(0xffffffff))',
    'return redis.sha1hex()',
    'return redis.sha1hex(nil)',
    'return redis.status_reply(1)',
    'return redis.error_reply()',
    'return redis.setresp()',
    'return redis.set_repl(7)',
    'return redis.set_repl()',
    'return redis.log()',
    "return redis.log('x', 'y')",
    "return redis.log(9, 'y')",
    "return redis.acl_check_cmd('get', 'x')",
    "return redis.acl_check_cmd('nosuch')",
    'return redis.acl_check_cmd()',
    'return math.random(0)',
    'return math.random(3, 1)',
    'return math.random(1, 2, 3)',
    "return math.random('x')",
    'return math.randomseed()',
    "return string.format('%d %5.2f %s %q', 3.7, 1/3, 'x', 'a\\nb')",
    "return string.rep('ab', 3, ',')",
    "return table.concat({1, 2, 3}, '-')",
    'return unpack({1, 2, 3})',
    "return select('#', 1, 2, 3)",
    "return tonumber('0x10') + tonumber('1e2')",
    "return #string.format('%s', 1e100)",
    "return string.len(string.format('%.20f', 0.1))",
    'return tostring(-0) .. tostring(0/0) .. tostring(1/0)',
    'return math.huge',
    'return math.floor(-3.5) .. math.fmod(7, 3) .. math.max(1, 5, 3)',
    'return coroutine.resume(coroutine.create(function() return 1 end))',
    "return {pcall(function() error('x', 0) end)}",
    "return {pcall(function() error({err='E'}) end)}",
    "return {xpcall(function() error('x') end, function(e) return 'handled ' .. e end)}",
    "return {pcall(redis.call, 'get')}",
    "return redis.pcall('get')",
    'local t = {} t[1] = t return cjson.encode(t)',
    'return cmsgpack.pack(setmetatable({}, {__index = function() return 1 end}))',
    'return gcinfo() > 0',
    "return collectgarbage('count') > 0",
    'return _VERSION',
]


def test_libraries_and_redis_api_edge_cases_match_redis(node, reference):
    """cjson, cmsgpack, struct, bit, math.random and the redis.* helpers, errors included."""
    requests = [("EVAL", c, "0") for c in LIBRARY_CASES]
    assert_same(node, reference, requests)
    assert_same_resp3(node, reference, requests)


CALL_CASES = [
    'local a = 1\nlocal b = nil\nreturn b.c',
    "local function f()\n  error('deep')\nend\nlocal function g() f() end\ng()",
    "local function f()\n  return redis.call('nosuch')\nend\nreturn f()",
    "local function f()\n  redis.call('nosuch')\nend\nf()",
    'error()',
    'error(nil)',
    'error(12)',
    'error({err=12})',
    "error({err='x', source='s'})",
    'return {err=12}',
    'return {ok=12}',
    "return {1, {err='nested'}, 3}",
    "return {1, {ok='fine'}, 3}",
    "return {double='x'}",
    'return {map=1}',
    'return {1, 2, [4]=4}',
    'return {a=1}',
    'return {[1]=1, [2]=2, x=3}',
    "return string.rep('x', 3) .. 1",
    'return 2^63',
    'return -2^63',
    'return 2^64',
    'return 1.9999999999',
    'return -0.5',
    'return 3.0',
    'return tostring(12345678901234567890)',
    "return redis.call('echo', 2^53)",
    "return redis.call('echo', 0.1)",
    "return redis.call('echo', 1/0)",
    "return redis.call('echo', 0/0)",
    "return redis.call('echo', 1e100)",
    "return redis.call('echo', true)",
    "return redis.call('echo', nil)",
    'return redis.call(1)',
    "return redis.call('ECHO', 'x')",
    "return redis.call('config', 'nosuch')",
    "return redis.call('client', 'list')",
    "return redis.call('script', 'load', 'return 1')",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('info', 'nosuch')",
    "return redis.call('type', 'nokey')",
    "return redis.call('set', 'k', 'v', 'nx', 'get')",
    "return redis.call('zrange', 'z', 0, -1, 'withscores')",
    "redis.setresp(3); return redis.call('zrange', 'z', 0, -1, 'withscores')",
    "redis.setresp(3); return redis.call('zscore', 'z', 'a')",
    "redis.setresp(3); return redis.call('hello', '3')",
    "return redis.call('hello', '3')",
    "redis.setresp(3); return redis.call('info', 'nosuch')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'bignum')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'verbatim')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'attrib')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'true')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'null')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'double')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'map')",
    "redis.setresp(3); return redis.call('debug', 'protocol', 'set')",
    "return redis.call('debug', 'protocol', 'bignum')",
    "return redis.call('debug', 'protocol', 'double')",
    "return redis.call('debug', 'protocol', 'true')",
    "return redis.call('time')[1] ~= nil",
    "local t = redis.call('time') redis.call('randomkey') return redis.call('set', 'after', t[2])",
    "return redis.call('select', 1)",
    "redis.call('select', 1); redis.call('set', 'in1', 'x'); return redis.call('get', 'in1')",
    "return redis.call('get', 'in1')",
    "return redis.call('exists', 'in1')",
    "return redis.call('ping')",
    "return redis.call('ping', 'x')",
    "return redis.pcall('nosuch')",
    'return redis.pcall()',
    'return redis.pcall({})',
    "local ok, e = pcall(redis.call, 'incr', 'l'); return {tostring(ok), e}",
    "local r = redis.pcall('incr', 'l'); return r",
    "return type(redis.pcall('incr', 'l'))",
    "return redis.error_reply('')",
    "return redis.error_reply('-')",
    "return redis.error_reply('x y z')",
    "return redis.status_reply('')",
    'return #KEYS',
    'return ARGV',
    'return KEYS',
]


def test_redis_call_conversions_and_error_paths_match_redis(node, reference):
    """Numbers as arguments, replies of every shape both protocols, refused commands,
    errors raised at every depth (with their line), pcall and the reply helpers."""
    setup = [("RPUSH", "l", "x", "y"), ("ZADD", "z", "1.5", "a", "2", "b")]
    requests = setup + [("EVAL", c, "0") for c in CALL_CASES]
    assert_same(node, reference, requests)
    assert_same_resp3(node, reference, requests)


RESP3_SCRIPTS = [
    "redis.setresp(3); return redis.call('hgetall', 'h')",
    "redis.setresp(3); return redis.call('smembers', 's')",
    "redis.setresp(3); return redis.call('zscore', 'z', 'm')",
    "redis.setresp(3); return redis.call('get', 'missing')",
    "redis.setresp(3); return redis.call('exists', 'h')",
    "redis.setresp(3); local t = redis.call('hgetall', 'h'); return t['map']['a']",
    "redis.setresp(3); local t = redis.call('zscore', 'z', 'm'); return t['double']",
    "return {map = {a = 1}}",
    "return {set = {a = true}}",
    "return {double = 3.5}",
    "return {double = 1/0}",
    "return {big_number = '123456789012345678901234567890'}",
    "return {verbatim_string = {format = 'txt', string = 'hello'}}",
    "return true",
    "return false",
    "redis.setresp(3); return true",
    "redis.setresp(3); return false",
    "return nil",
]


def test_resp3_conversions_both_ways_match_redis(node, reference):
    setup = [("HSET", "h", "a", "1"), ("SADD", "s", "x"), ("ZADD", "z", "1.5", "m")]
    requests = setup + [("EVAL", s, "0") for s in RESP3_SCRIPTS]
    assert_same(node, reference, requests)
    assert_same_resp3(node, reference, requests)


def test_script_cache_commands_match_redis(node, reference):
    body = "return redis.call('get', KEYS[1])"
    sha = "4e6d8fc8bb01276962cce5371fa795a7763657ae"
    assert_same(node, reference, [
        ("SCRIPT", "EXISTS", sha, "ffffffffffffffffffffffffffffffffffffffff"),
        ("EVALSHA", sha, "1", "k"), ("EVALSHA", "short", "0"),
        ("SCRIPT", "LOAD", body), ("SCRIPT", "EXISTS", sha, sha.upper()),
        ("SET", "k", "v"), ("EVALSHA", sha, "1", "k"), ("EVALSHA", sha.upper(), "1", "k"),
        ("EVALSHA_RO", sha, "1", "k"), ("EVAL_RO", "return redis.call('set', 'a', 1)", "0"),
        ("EVAL", "return 1", "2", "a"), ("EVAL", "return 1", "-1"), ("EVAL", "return 1", "x"),
        ("SCRIPT", "LOAD", "return +"), ("SCRIPT", "FLUSH", "BAD"),
        ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "EXISTS", sha), ("SCRIPT", "FLUSH"),
        ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "FLUSH", "ASYNC", "SYNC"),
        ("SCRIPT", "KILL"), ("FUNCTION", "KILL"),
        ("EVAL", "return {#KEYS, #ARGV, KEYS[40], ARGV[5]}", "40", *map(str, range(45))),
        ("EVAL", "return {#KEYS, #ARGV, KEYS[1], ARGV[1]}", "0"),
    ])


def test_shebang_flags_match_redis(node, reference):
    assert_same(node, reference, [
        ("EVAL", "#!lua\nreturn redis.call('set', 'a', 1)", "0"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 1)", "0"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", "0"),
        ("EVAL_RO", "#!lua\nreturn 1", "0"),
        ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"),
        ("EVAL", "#!lua flags=allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 2",
         "0"),
        ("EVAL", "#!lua flags=bogus\nreturn 1", "0"),
        ("EVAL", "#!lua bogus=1\nreturn 1", "0"),
        ("EVAL", "#!python\nreturn 1", "0"),
        ("EVAL", "#!lua", "0"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('expire', 'a', 1)", "0"),
    ])


LIBRARY = ("#!lua name=lib\n"
           "redis.register_function('incrget', function(keys, args)\n"
           "  redis.call('incr', keys[1]); return redis.call('get', keys[1]) end)\n")
LIBRARY_RO = ("#!lua name=rolib\n"
              "redis.register_function{function_name='peek', callback=function(keys, args)\n"
              "  return redis.call('get', keys[1]) end, flags={'no-writes'},\n"
              "  description='reads a key'}\n")


def test_functions_match_redis(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FUNCTION", "FLUSH")
    assert_same(node, reference, [
        ("FUNCTION", "LOAD", LIBRARY), ("FUNCTION", "LOAD", LIBRARY),
        ("FUNCTION", "LOAD", "REPLACE", LIBRARY), ("FCALL", "incrget", "1", "n"),
        ("FCALL", "INCRGET", "1", "n"), ("FCALL_RO", "incrget", "1", "n"),
        ("FUNCTION", "LOAD", LIBRARY_RO), ("FCALL_RO", "peek", "1", "n"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "rol*", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "lib"), ("FUNCTION", "LIST", "BAD"),
        ("FUNCTION", "LIST", "LIBRARYNAME"),
        ("FCALL", "nosuch", "0"), ("FCALL", "incrget", "x"), ("FCALL", "incrget", "3", "a"),
        ("FUNCTION", "LOAD", "return 1"), ("FUNCTION", "LOAD", "#!lua\n"),
        ("FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"),
        ("FUNCTION", "LOAD", "#!js name=x\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=x\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a', 'b')"),
        ("FUNCTION", "LOAD", "#!lua name=x\nlocal s = string.len('a')"),
        ("FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"),
        ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('incrget', function() end)"),
        ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f'}"),
        ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', "
                             "callback=function() end, flags={'bogus'}}"),
        ("FUNCTION", "LOAD", "BOGUS", LIBRARY), ("FUNCTION", "LOAD"),
        ("FUNCTION", "DELETE", "nosuch"), ("FUNCTION", "DELETE", "rolib"),
        ("FUNCTION", "STATS"), ("FUNCTION", "FLUSH", "BAD"), ("FUNCTION", "RESTORE", "junk"),
        ("FUNCTION", "RESTORE", "junk", "BAD"), ("FUNCTION", "FLUSH", "ASYNC"),
        ("FUNCTION", "FLUSH", "SYNC"), ("FUNCTION", "FLUSH"), ("FUNCTION", "LIST"),
    ])


def wait_until_busy(port: int, timeout: float = 10.0) -> None:
    """Until a new connection's PING gets -BUSY: a script runs past busy-reply-threshold."""
    deadline = time.monotonic() + timeout
    while True:
        with RawClient(port) as probe:
            if probe.call("PING").startswith(b"-BUSY"):
                return
        assert time.monotonic() < deadline, "no script turned busy"
        time.sleep(0.05)


def library_names(client: redis.Redis) -> list[bytes]:
    """FUNCTION LIST's library names, sorted (RESP2: each entry a flat list)."""
    return sorted(entry[1] for entry in client.function_list())


def test_function_dump_payloads_cross_between_redis_and_redslot(node, reference):
    ours = redis.Redis(port=node.port)
    theirs = redis.Redis(port=reference.port)
    for client in (ours, theirs):
        client.function_flush()
    ours.function_load(LIBRARY)
    theirs.function_load(LIBRARY)
    assert ours.function_dump() == theirs.function_dump()  # byte for byte (LZF included)
    theirs.function_flush()
    theirs.function_load(LIBRARY_RO)
    theirs.function_restore(ours.function_dump())
    ours.function_restore(theirs.function_dump(), "REPLACE")
    assert library_names(ours) == [b"lib", b"rolib"]
    assert library_names(theirs) == [b"lib", b"rolib"]
    ours.function_load(LIBRARY_RO.replace("rolib", "third").replace("peek", "peek3"))
    theirs.function_restore(ours.function_dump(), "FLUSH")
    assert library_names(theirs) == [
        b"lib", b"rolib", b"third"]
    with pytest.raises(redis.ResponseError, match="Library .* already exists"):
        ours.function_restore(theirs.function_dump())


def test_functions_survive_a_restart_in_the_snapshot():
    proc = start_node("--save", "", "--appendonly", "no")
    try:
        r = redis.Redis(port=proc.port)
        r.function_load(LIBRARY)
        r.save()
        proc.stop(keep_dir=True)
        again = start_node("--dir", proc.workdir)
        try:
            assert redis.Redis(port=again.port).fcall("incrget", 1, "n") == b"1"
        finally:
            again.stop()
    finally:
        proc.stop()


def test_script_effects_replicate_inside_multi_exec_and_functions_replicate():
    master = start_node()
    replica = start_node("--replicaof", "127.0.0.1", str(master.port))
    try:
        m = redis.Redis(port=master.port)
        r = redis.Redis(port=replica.port)
        deadline = time.monotonic() + 10
        while r.info("replication")["master_link_status"] != "up":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        m.function_load(LIBRARY)
        assert m.eval("redis.call('set', 'a', 1); redis.call('incr', 'a'); "
                      "return redis.call('get', 'a')", 0) == b"2"
        m.fcall("incrget", 1, "n")
        m.set("sentinel", "1")
        while r.get("sentinel") is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert r.get("a") == b"2" and r.get("n") == b"1"
        assert library_names(r) == [b"lib"]
        with pytest.raises(redis.ResponseError, match="You can't write against a read only replica"):
            r.eval("return redis.call('set', 'b', 1)", 0)
        with pytest.raises(redis.ResponseError, match="You can't write against a read only replica"):
            r.eval("#!lua\nreturn redis.call('set', 'b', 1)", 0)
        assert r.eval("#!lua flags=no-writes\nreturn redis.call('get', 'a')", 0) == b"2"
        assert r.eval_ro("return redis.call('get', 'a')", 0) == b"2"
    finally:
        replica.stop()
        master.stop()


def test_busy_script_gets_busy_replies_and_script_kill_ends_it():
    proc = start_node("--busy-reply-threshold", "200")
    try:
        result: list[object] = []

        def run() -> None:
            try:
                redis.Redis(port=proc.port).eval("while true do end", 0)
            except redis.ResponseError as exc:
                result.append(str(exc))

        worker = threading.Thread(target=run)
        worker.start()
        wait_until_busy(proc.port)
        other = redis.Redis(port=proc.port, socket_timeout=5)
        with pytest.raises(redis.ResponseError, match="BUSY Redis is busy running a script"):
            other.get("x")
        with pytest.raises(redis.ResponseError, match="BUSY Redis is busy running a script. "
                           "You can only call SCRIPT KILL"):
            other.shutdown()
        with pytest.raises(redis.ResponseError, match="BUSY"):
            other.function_kill()
        assert other.script_kill()
        worker.join(5)
        assert not worker.is_alive()
        assert result and result[0].startswith("Script killed by user with SCRIPT KILL...")
        assert other.ping()
        with pytest.raises(redis.ResponseError, match="NOTBUSY"):
            other.script_kill()
    finally:
        proc.stop()


def test_a_script_that_wrote_is_unkillable_but_shutdown_nosave_stops_the_node():
    proc = start_node("--busy-reply-threshold", "200")
    try:
        def run() -> None:
            try:
                redis.Redis(port=proc.port).eval(
                    "redis.call('set', 'x', 1) while true do end", 0)
            except redis.RedisError:
                pass

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        wait_until_busy(proc.port)
        with RawClient(proc.port) as c:
            assert c.call("SCRIPT", "KILL").startswith(b"-UNKILLABLE Sorry the script")
            c.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        assert proc.proc.wait(10) is not None
        worker.join(5)
    finally:
        proc.stop()


def test_redis_py_lock_is_exclusive_across_threads(node):
    client = redis.Redis(port=node.port)
    client.delete("counter", "the-lock")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            r = redis.Redis(port=node.port)
            for _ in range(10):
                with r.lock("the-lock", timeout=5, blocking_timeout=10, sleep=0.001):
                    value = int(r.get("counter") or 0)
                    r.set("counter", value + 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert client.get("counter") == b"80"
    lock = client.lock("held", timeout=5)
    assert lock.acquire(blocking=False)
    other = client.lock("held", timeout=5)
    assert not other.acquire(blocking=False)
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.do_release(b"not-the-token")
    lock.release()


FIXED_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return 0 end
return 1
"""

SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""

TOKEN_BUCKET = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[1])
if tokens < 1 then return 0 end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1)
return 1
"""


@pytest.mark.parametrize("pattern", ["fixed", "sliding", "bucket"])
def test_rate_limiters_admit_exactly_the_limit_under_20_clients(node, pattern):
    r = redis.Redis(port=node.port)
    r.delete("limit")
    limit = 50
    admitted = []
    lock = threading.Lock()

    def client(i: int) -> None:
        c = redis.Redis(port=node.port)
        for j in range(5):
            if pattern == "fixed":
                ok = c.eval(FIXED_WINDOW, 1, "limit", 60000, limit)
            elif pattern == "sliding":
                ok = c.eval(SLIDING_WINDOW, 1, "limit", 1000, 60000, limit, f"{i}-{j}")
            else:
                ok = c.eval(TOKEN_BUCKET, 1, "limit", limit)
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(admitted) == 100
    assert sum(admitted) == limit


def test_script_effects_reach_the_aof_inside_multi_exec_and_replay_after_a_restart():
    proc = start_node("--appendonly", "yes", "--appendfsync", "always")
    try:
        r = redis.Redis(port=proc.port)
        r.function_load(LIBRARY)
        r.eval("redis.call('set', 'a', 1); redis.call('incr', 'a'); "
               "redis.call('set', 'r', math.random())", 0)
        r.eval("redis.call('set', 'single', 1)", 0)
        folder = f"{proc.workdir}/appendonlydir"
        (incr,) = [n for n in os.listdir(folder) if n.endswith(".incr.aof")]
        with open(f"{folder}/{incr}", "rb") as f:
            data = f.read()
        assert b"EVAL" not in data
        multi = data.index(b"MULTI")
        assert data.index(b"incr", multi) < data.index(b"EXEC", multi)
        assert data.count(b"MULTI") == 1  # a single effect goes alone
        assert b"FUNCTION" in data
        proc.stop(keep_dir=True)
        again = start_node("--appendonly", "yes", "--dir", proc.workdir)
        try:
            r = redis.Redis(port=again.port)
            assert r.get("a") == b"2" and r.get("single") == b"1"
            assert r.fcall("incrget", 1, "n") == b"1"
        finally:
            again.stop()
    finally:
        proc.stop()


def test_maxmemory_refuses_writes_in_scripts_as_redis_does(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            c.call("CONFIG", "SET", "maxmemory", "1")
    try:
        assert_same(node, reference, [
            ("EVAL", "return redis.call('set', 'a', 1)", "0"),
            ("EVAL", "return redis.call('get', 'a')", "0"),
            ("EVAL", "#!lua\nreturn redis.call('set', 'a', 1)", "0"),
            ("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 1)", "0"),
            ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", "0"),
        ])
    finally:
        for server in (node, reference):
            with RawClient(server.port) as c:
                c.call("CONFIG", "SET", "maxmemory", "0")


CLUSTER_CONFIG = ("--cluster-enabled", "yes", "--cluster-require-full-coverage", "no")


def test_cluster_key_checks_in_scripts_match_redis():
    """Half the slots served here: {a} (slot 15495) is not, {b} (3300) and {c} (7365) are."""
    node = start_node(*CLUSTER_CONFIG)
    reference = start_redis_server(*CLUSTER_CONFIG)
    try:
        for server in (node, reference):
            with RawClient(server.port) as c:
                assert c.call("CLUSTER", "ADDSLOTSRANGE", "0", "8191") == b"+OK\r\n"
        for server in (node, reference):
            deadline = time.monotonic() + 10
            with RawClient(server.port) as c:
                while b"cluster_state:ok" not in c.call("CLUSTER", "INFO"):
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        steps = [
            ("EVAL", "return redis.call('set', KEYS[1], 1)", "1", "{b}1"),
            ("EVAL", "return redis.call('get', '{a}1')", "0"),
            ("EVAL", "return redis.call('get', KEYS[1])", "1", "{a}1"),
            ("EVAL", "return 1", "2", "{b}1", "{c}1"),
            ("EVAL", "redis.call('get', '{b}1'); return redis.call('get', '{c}1')", "0"),
            ("EVAL", "#!lua\nredis.call('get', '{b}1'); return redis.call('get', '{c}1')", "0"),
            ("EVAL", "#!lua\nreturn redis.call('get', '{c}1')", "1", "{b}1"),
            ("EVAL", "#!lua flags=allow-cross-slot-keys\nredis.call('get', '{b}1'); "
                     "return redis.call('get', '{c}1')", "0"),
            ("EVAL", "#!lua flags=no-cluster\nreturn 1", "0"),
        ]
        with RawClient(node.port) as ours, RawClient(reference.port) as ref:
            mine = [ours.call(*s) for s in steps]
            theirs = [ref.call(*s) for s in steps]
        for step, a, b in zip(steps, mine, theirs, strict=True):
            assert a == b, f"{step!r}: redslot {a!r} != redis-server {b!r}"
    finally:
        node.stop()
        reference.stop()


def test_busy_function_shows_in_function_stats_and_function_kill_ends_it():
    proc = start_node("--busy-reply-threshold", "200")
    try:
        admin = redis.Redis(port=proc.port, socket_timeout=5)
        admin.function_load("#!lua name=spin\n"
                            "redis.register_function('spin', function() while true do end end)")
        failures: list[str] = []

        def run() -> None:
            try:
                redis.Redis(port=proc.port).fcall("spin", 0)
            except redis.ResponseError as exc:
                failures.append(str(exc))

        worker = threading.Thread(target=run)
        worker.start()
        wait_until_busy(proc.port)
        with RawClient(proc.port) as c:
            stats = c.call("FUNCTION", "STATS")
            assert b"$4\r\nspin\r\n" in stats and b"$5\r\nFCALL\r\n" in stats
            assert c.call("GET", "x").startswith(b"-BUSY Redis is busy running a script. You can "
                                                 b"only call FUNCTION KILL")
            assert c.call("SCRIPT", "KILL").startswith(b"-BUSY")
            assert c.call("FUNCTION", "KILL") == b"+OK\r\n"
        worker.join(5)
        assert failures and failures[0].startswith("Script killed by user")
        assert admin.ping()
    finally:
        proc.stop()


def test_a_full_sync_gives_the_replica_exactly_the_masters_libraries():
    master = start_node()
    replica = start_node()
    try:
        redis.Redis(port=master.port).function_load(LIBRARY)
        r = redis.Redis(port=replica.port)
        r.function_load(LIBRARY_RO)
        r.replicaof("127.0.0.1", master.port)
        deadline = time.monotonic() + 10
        while r.info("replication")["master_link_status"] != "up":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert library_names(r) == [b"lib"]
    finally:
        replica.stop()
        master.stop()


def test_sigterm_stops_a_node_stuck_in_a_busy_script():
    proc = start_node("--busy-reply-threshold", "200")
    try:
        def run() -> None:
            try:
                redis.Redis(port=proc.port).eval(
                    "redis.call('set', 'x', 1) while true do end", 0)
            except redis.RedisError:
                pass

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        wait_until_busy(proc.port)
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(10) == 0
        worker.join(5)
    finally:
        proc.stop()


SET_REPL_SCRIPT = (
    "redis.call('set', 'all', 1) "
    "redis.set_repl(redis.REPL_AOF) redis.call('set', 'aof', 1) "
    "redis.set_repl(redis.REPL_REPLICA) redis.call('select', 1) redis.call('set', 'replica', 1) "
    "redis.set_repl(redis.REPL_NONE) redis.call('set', 'none', 1) "
    "redis.set_repl(redis.REPL_ALL) redis.call('set', 'last', 1) return 1")


def aof_increments(workdir: str) -> bytes:
    folder = f"{workdir}/appendonlydir"
    (incr,) = [n for n in os.listdir(folder) if n.endswith(".incr.aof")]
    with open(f"{folder}/{incr}", "rb") as f:
        return f.read()


def replica_keys(master_port: int) -> tuple[list[bytes], list[bytes]]:
    replica = start_node("--replicaof", "127.0.0.1", str(master_port))
    try:
        r = redis.Redis(port=replica.port)
        deadline = time.monotonic() + 10
        while r.info("replication")["master_link_status"] != "up":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        master = redis.Redis(port=master_port)
        master.eval(SET_REPL_SCRIPT, 0)
        master.set("sentinel", 1)
        while r.get("sentinel") is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return sorted(r.keys()), sorted(redis.Redis(port=replica.port, db=1).keys())
    finally:
        replica.stop()


def test_set_repl_sends_effects_to_the_aof_or_the_replicas_only_as_redis_does():
    outcomes = []
    for start in (start_node, start_redis_server):
        proc = start("--appendonly", "yes", "--appendfsync", "always")
        try:
            keys = replica_keys(proc.port)
            outcomes.append((keys, aof_increments(proc.workdir)))
        finally:
            proc.stop()
    ours, theirs = outcomes
    assert ours == theirs
    (db0, db1), aof = ours
    assert db0 == [b"all", b"sentinel"] and db1 == [b"last", b"replica"]
    assert b"aof" in aof and b"replica" not in aof and b"none" not in aof


CJSON_SETTINGS = [
    "return cjson.encode_max_depth()",
    "return cjson.encode_max_depth(0)",
    "return cjson.encode_max_depth('x')",
    "return cjson.encode_max_depth(1,2)",
    "return cjson.encode_max_depth(nil,nil)",
    "return {cjson.encode_sparse_array()}",
    "return cjson.encode_keep_buffer('maybe')",
    "return cjson.encode_keep_buffer({})",
    "return cjson.encode_keep_buffer(1)",
    "return cjson.encode_keep_buffer('off')",
    "return cjson.encode_keep_buffer()",
    "return cjson.encode_keep_buffer(true)",
    "return cjson.encode_invalid_numbers('null')",
    "return cjson.encode({1/0, -1/0, 0/0})",
    "return cjson.encode_invalid_numbers(true)",
    "return cjson.encode({1/0, -1/0, 0/0, [4]=1.5})",
    "return cjson.encode_invalid_numbers(false)",
    "return cjson.encode_number_precision(15)",
    "return cjson.encode_number_precision(3.7)",
    "return cjson.encode({1/3, 12345.678, 1e20})",
    "return cjson.encode_number_precision(14)",
    "local c = cjson.new(); return {c.encode_max_depth(3), cjson.encode_max_depth(), c._NAME, c._VERSION, c.null == cjson.null}",
    "local c = cjson.new(); c.encode_max_depth(2); return c.encode({{{1}}})",
    "return cjson.encode_max_depth(2.5)",
    "return cjson.encode({{1}})",
    "return cjson.encode({{{1}}})",
    "return cjson.encode_max_depth('7')",
    "return cjson.encode_max_depth(1000)",
    "return cjson.decode_max_depth(2)",
    "return cjson.decode('[[1]]')",
    "return cjson.decode('[[[1]]]')",
    "return cjson.decode_max_depth(1000)",
    "return cjson.decode_invalid_numbers(false)",
    "return cjson.decode('[0x10]')",
    "return cjson.decode('[Infinity]')",
    "return cjson.decode('[-Inf]')",
    "return cjson.decode('[01]')",
    "return cjson.decode('[+1]')",
    "return cjson.decode('[1.5]')",
    "return cjson.decode_invalid_numbers('on')",
    "return cjson.decode('[+1]')",
    "return {cjson.encode_sparse_array(true, 0, 3)}",
    "return cjson.encode({[1]=1, [20]=2})",
    "return {cjson.encode_sparse_array(false, 1, 0)}",
    "return cjson.encode({[1]=1, [3]=2})",
    "return cjson.encode({[1]=1, [2]=2})",
    "return {cjson.encode_sparse_array(nil, -1)}",
    "return {cjson.encode_sparse_array(1, 2, 10)}",
    "return {cjson.encode_sparse_array('on', 2, 10)}",
    "return {cjson.encode_sparse_array(false, 2, 10, 4)}",
    "return {cjson.encode_sparse_array()}",
    "cjson.encode_max_depth = nil",
    "return cjson._NAME .. cjson._VERSION",
    "return type(cjson.new)",
    "return cjson.new().encode({a=1})",
    "local c = cjson.new() c.x = 1 return c.x",
    "cjson.encode_sparse_array(false, 2, 10) return cjson.encode_max_depth(5)",
]
CJSON_LIBRARY = ("#!lua name=cj\nredis.register_function('depth', function() "
                 "return cjson.encode_max_depth() end)")


def test_cjson_settings_match_redis_and_last_per_interpreter(node, reference):
    """The configuration functions of lua_cjson.c: replies, errors, their effect on
    encode/decode, cjson.new; EVAL's settings last across scripts but are not the
    functions' (Redis runs those in another interpreter)."""
    commands = [("EVAL", script, "0") for script in CJSON_SETTINGS]
    commands += [("FUNCTION", "LOAD", "REPLACE", CJSON_LIBRARY), ("FCALL", "depth", "0"),
                 ("EVAL", "return cjson.encode_max_depth(1000)", "0"),
                 ("FUNCTION", "DELETE", "cj")]
    assert_same(node, reference, commands)


GLOBALS_WALK = [
    "local t={} for k,v in pairs(_G) do t[#t+1]=tostring(k)..'='..type(v) end table.sort(t) return t",
    'local t={} for k,v in pairs(redis) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(string) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(math) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(table) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(cjson) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(bit) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(struct) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(cmsgpack) do t[#t+1]=tostring(k) end table.sort(t) return t',
    'local t={} for k,v in pairs(coroutine) do t[#t+1]=tostring(k) end table.sort(t) return t',
    "return {next(_G) ~= nil, rawget(_G, 'redis') == redis, #string, rawget(redis,'call') == redis.call}",
    'table.insert(_G, 1)',
    'table.insert(redis, 1)',
    'table.insert(string, 1, 2)',
    'return table.getn(_G)',
    'return table.maxn(_G)',
    'local n=0 for k,v in ipairs(_G) do n=n+1 end return n',
    'table.sort(redis)',
    "return table.concat(string, ',')",
    'table.remove(_G)',
    'return unpack(_G)',
    'local n = 0 table.foreach(_G, function(k,v) n = n + 1 end) return n > 30',
    "return select('#', next(redis, nil))",
    "return next({}, 'x')",
    "return next(_G, 'nonexist')",
    'return next(nil)',
    'return pairs(nil)',
    'return rawget(nil, 1)',
    'return pairs()',
    'return pairs({}) == next',
    'return pairs(_G) == next',
    'local f, t = pairs(_G) t.x = 1',
    "for k, v in pairs(_G) do if type(v) == 'table' and k ~= '_G' and k ~= 'KEYS' and k ~= 'ARGV' then v.x = 1 end end",
    'for k, v in pairs(_G) do _G[k] = nil end',
    'for k, v in pairs(redis) do redis[k] = nil end',
    'local k, v = next(_G) _G[k] = v',
    "rawset(_G, 'x', 1)",
    "return rawget(_G, 'x')",
    'return rawequal(_G, _G)',
    'local t = {} for k in pairs(_G._G) do t[#t+1] = k end return #t > 30',
    'local f = next; return f(nil)',
    'local t = {n = rawget} return t.n()',
    'return {pcall(next)}',
    'return {pcall(rawget, {})}',
    'table.foreach(_G, nil)',
    'table.foreach(1)',
    "local ok, e = pcall(function() return next(redis, 'zz') end) return e",
    'local n = 0 for k, v in next, _G do n = n + 1 end return n > 30',
    'return rawget(redis.call)',
    'return next(redis.call)',
    'local t = {} for k in pairs(KEYS) do t[#t+1] = k end return t',
    'return {next({10})}',
    'return rawget({5}, 1)',
    'return rawget({5})',
]
GLOBALS_LIBRARY = (
    "#!lua name=walk\n"
    "local function keys(t) local out = {} for k in pairs(t) do out[#out + 1] = tostring(k) end "
    "table.sort(out) return out end\n"
    "redis.register_function('globals', function() return keys(_G) end)\n"
    "redis.register_function('redis', function() return keys(redis) end)\n"
    "redis.register_function('handler', function() return __redis__err__handler end)")


def test_walking_globals_and_library_tables_matches_redis_and_changes_nothing(node, reference):
    """pairs/next/rawget see the protected tables' contents as Redis's read-only tables
    show them (EVAL's and the functions' own sets); every write attempt gets Redis's error."""
    commands: list[tuple[str, ...]] = [("EVAL", script, "1", "k") for script in GLOBALS_WALK]
    commands += [("FUNCTION", "LOAD", "REPLACE", GLOBALS_LIBRARY), ("FCALL", "globals", "0"),
                 ("FCALL", "redis", "0"), ("FCALL", "handler", "0"), ("FUNCTION", "DELETE", "walk")]
    assert_same(node, reference, commands)


def test_a_connection_accepted_as_a_busy_script_starts_gets_busy_replies():
    """The connection is accepted in the same event-loop turn as the EVAL is read (both
    wait behind a DEBUG SLEEP): it must be served by the busy hook, not after the script."""
    proc = start_node("--busy-reply-threshold", "100")
    try:
        with RawClient(proc.port) as sleeper, RawClient(proc.port) as runner:
            sleeper.send_raw(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.5\r\n")
            time.sleep(0.1)
            with RawClient(proc.port) as late:  # connected while the loop sleeps
                runner.send_raw(b"*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n")
                wait_until_busy(proc.port)  # the sleep ended, the script runs past the threshold
                late.sock.settimeout(5)
                assert late.call("GET", "x").startswith(b"-BUSY Redis is busy running a script")
                assert late.call("SCRIPT", "KILL") == b"+OK\r\n"
                assert late.call("PING") == b"+PONG\r\n"
            assert runner.read_reply().startswith(b"-ERR Script killed by user")
            assert sleeper.read_reply() == b"+OK\r\n"
    finally:
        proc.stop()


SCRIPTING_COMMANDS = ("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "script",
                      "function")
PROSE = (b"summary", b"complexity", b"history")


def without_prose(docs: object, ours: bool) -> object:
    """COMMAND DOCS's facts: Redis's prose left out (redslot gives none), and 7.2's
    display_text, which only repeats an argument's name here."""
    if isinstance(docs, dict):
        if ours and b"display_text" in docs:
            assert docs[b"display_text"] == docs[b"name"]
        return {k: without_prose(v, ours) for k, v in docs.items()
                if k not in PROSE and not (ours and k == b"display_text")}
    if isinstance(docs, list):
        return [without_prose(v, ours) for v in docs]
    return docs


def test_info_config_alias_and_command_docs_cover_scripting_as_redis_does(node, reference):
    """INFO's script and function fields, lua-time-limit as busy-reply-threshold's alias,
    and COMMAND DOCS's facts for every scripting command, as redis-server gives them."""
    fields = {}
    for server in (node, reference):
        r = redis.Redis(port=server.port)
        r.script_flush("SYNC")
        r.function_flush("SYNC")
        r.script_load("return 1")
        r.script_load("return 2")
        r.function_load("#!lua name=two\nredis.register_function('f1', function() return 1 end)"
                        "\nredis.register_function('f2', function() return 2 end)")
        info = r.info("memory")
        fields[server.port] = {k: info[k] if k.startswith("number_of") else type(info[k])
                               for k in info if any(w in k for w in ("lua", "script", "vm",
                                                                     "function"))}
        assert r.config_set("lua-time-limit", 300)
        assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "300"}
        r.config_set("busy-reply-threshold", 5000)
        r.function_flush()
    assert fields[node.port] == fields[reference.port]
    assert fields[node.port]["number_of_cached_scripts"] == 2
    assert fields[node.port]["number_of_functions"] == 2
    ours, theirs = (without_prose(redis.Redis(port=server.port, protocol=3).execute_command(
        "COMMAND DOCS", *SCRIPTING_COMMANDS), server is node) for server in (node, reference))
    assert isinstance(theirs, dict)
    del theirs[b"script"][b"subcommands"][b"script|debug"]  # not implemented (README)
    for flush in (b"script|flush", b"function|flush"):  # the argument 7.2 renamed
        theirs[flush.split(b"|")[0]][b"subcommands"][flush][b"arguments"][0][b"name"] = (
            b"flush-type")
    assert ours == theirs


def test_functions_in_an_rdb_cross_between_redis_and_redslot():
    """RDB_OPCODE_FUNCTION2 both ways: each server loads the other's snapshot's libraries."""
    for first, second in ((start_node, start_redis_server), (start_redis_server, start_node)):
        writer = first()
        try:
            r = redis.Redis(port=writer.port)
            r.function_load(LIBRARY)
            r.function_load(LIBRARY_RO)
            r.set("n", 41)
            assert r.save()
            writer.stop(keep_dir=True)
            reader = second("--dir", writer.workdir, "--dbfilename", "dump.rdb")
            try:
                again = redis.Redis(port=reader.port)
                assert library_names(again) == [b"lib", b"rolib"]
                assert again.fcall("incrget", 1, "n") == b"42"
                assert again.fcall_ro("peek", 1, "n") == b"42"
            finally:
                reader.stop()
        finally:
            writer.stop()


def libraries_once_replicated(master: redis.Redis, replica: redis.Redis, step: str) -> list[bytes]:
    """The replica's libraries once it has what the master wrote before ``step``."""
    master.set("sentinel", step)
    deadline = time.monotonic() + 10
    while replica.get("sentinel") != step.encode():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return library_names(replica)


def test_function_flush_and_delete_replicate_and_script_flush_does_not_as_in_redis():
    """A redslot replica of a redslot master and of redis-server: FUNCTION DELETE and FLUSH
    reach it; SCRIPT FLUSH does not (Redis 7.0's scriptCommand propagates nothing)."""
    outcomes = []
    for start in (start_node, start_redis_server):
        master = start()
        replica = start_node("--replicaof", "127.0.0.1", str(master.port))
        try:
            m, r = redis.Redis(port=master.port), redis.Redis(port=replica.port)
            deadline = time.monotonic() + 10
            while r.info("replication")["master_link_status"] != "up":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            sha = r.script_load("return 1")
            m.function_load(LIBRARY)
            m.function_load(LIBRARY_RO)

            seen = [libraries_once_replicated(m, r, "load")]
            m.function_delete("rolib")
            seen.append(libraries_once_replicated(m, r, "delete"))
            m.function_flush()
            m.script_flush()
            seen.append(libraries_once_replicated(m, r, "flush"))
            outcomes.append((seen, r.script_exists(sha)))
        finally:
            replica.stop()
            master.stop()
    assert outcomes[0] == outcomes[1] == ([[b"lib", b"rolib"], [b"lib"], []], [True])
