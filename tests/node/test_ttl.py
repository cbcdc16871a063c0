"""Expiry commands: EXPIRE family with NX/XX/GT/LT, TTL family, PERSIST."""

from __future__ import annotations

import time

import pytest
from differential import assert_same

FAR = 4102444800  # 2100-01-01, seconds


def test_expire_option_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("EXPIRE", "k", "100", "NX", "XX"),
        ("EXPIRE", "k", "100", "nx", "gt"),
        ("EXPIRE", "k", "100", "LT", "NX"),
        ("EXPIRE", "k", "100", "GT", "LT"),
        ("EXPIRE", "k", "100", "GT", "lt", "XX"),
        ("EXPIRE", "k", "100", "NX", "XX", "GT", "LT"),
        ("EXPIRE", "k", "100", "BOGUS"),
        ("EXPIRE", "k", "100", "NX", "bogus", "XX"),
        ("EXPIRE", "k", "notanumber", "BOGUS"),
        ("EXPIRE", "k", "notanumber", "NX", "XX"),
        ("PEXPIRE", "k", "100", "NX", "NX"),
        ("EXPIREAT", "k", "100", "GT", "GT", "XX"),
        ("PEXPIREAT", "k", "100", "foo"),
        ("EXPIRE", "k"),
        ("TTL", "k"),
    ])


def test_expire_time_overflow_errors_name_the_command(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("EXPIRE", "k", "9223372036854776"),
        ("EXPIRE", "k", "-9223372036854776"),
        ("EXPIREAT", "k", "9223372036854776"),
        ("PEXPIRE", "k", "9223372036854775807"),
        ("pexpire", "k", "9223372036854775000"),
        ("EXPIRE", "k", "9223372036854775808"),
        ("EXPIRE", "k", "1.5"),
        ("EXPIRE", "k", " 10"),
        ("PEXPIREAT", "k", "9223372036854775807"),
        ("PEXPIRETIME", "k"),
        ("EXISTS", "k"),
    ])


def test_ttl_family_replies_minus_two_and_minus_one(node, reference):
    assert_same(node, reference, [
        ("TTL", "nokey"),
        ("PTTL", "nokey"),
        ("EXPIRETIME", "nokey"),
        ("PEXPIRETIME", "nokey"),
        ("SET", "k", "v"),
        ("TTL", "k"),
        ("PTTL", "k"),
        ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"),
    ])


def test_expireat_and_pexpireat_set_exact_absolute_times(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("EXPIREAT", "k", str(FAR)),
        ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", str(FAR * 1000 + 1234)),
        ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"),
    ])


def test_ttl_rounds_to_the_nearest_second(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("PEXPIRE", "k", "100000"),
        ("TTL", "k"),
        ("PEXPIRE", "k", "1300"),
        ("TTL", "k"),
        ("PEXPIRE", "k", "1800"),
        ("TTL", "k"),
    ])


def test_expire_on_missing_key_replies_zero(node, reference):
    assert_same(node, reference, [
        ("EXPIRE", "nokey", "100"),
        ("PEXPIRE", "nokey", "100", "NX"),
        ("EXPIREAT", "nokey", str(FAR)),
        ("PEXPIREAT", "nokey", "1"),
        ("PERSIST", "nokey"),
    ])


def test_nx_and_xx_conditions(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("EXPIRE", "k", "100", "XX"),
        ("TTL", "k"),
        ("EXPIRE", "k", "100", "NX"),
        ("EXPIRE", "k", "200", "NX"),
        ("TTL", "k"),
        ("EXPIRE", "k", "300", "XX"),
        ("TTL", "k"),
    ])


def test_gt_and_lt_treat_no_ttl_as_infinite(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("EXPIRE", "k", "100", "GT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "100", "LT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "50", "GT"),
        ("EXPIRE", "k", "99", "GT"),
        ("EXPIRE", "k", "200", "GT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "300", "LT"),
        ("EXPIRE", "k", "150", "LT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "500", "XX", "GT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "100", "lt", "xx"),
        ("TTL", "k"),
    ])


def test_past_deadline_deletes_the_key_and_replies_one(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "v"),
        ("EXPIRE", "a", "-1"),
        ("EXISTS", "a"),
        ("SET", "b", "v"),
        ("PEXPIRE", "b", "0"),
        ("EXISTS", "b"),
        ("SET", "c", "v"),
        ("EXPIREAT", "c", "1"),
        ("EXISTS", "c"),
        ("SET", "d", "v"),
        ("PEXPIREAT", "d", "-9223372036854775808"),
        ("EXISTS", "d"),
        ("SET", "e", "v"),
        ("EXPIRE", "e", "-9223372036854775"),
        ("EXISTS", "e"),
        ("SET", "f", "v"),
        ("EXPIRE", "f", "-10", "GT"),
        ("EXPIRE", "f", "-10", "LT"),
        ("EXISTS", "f"),
    ])


def test_persist_removes_the_ttl_once(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v", "EX", "100"),
        ("PERSIST", "k"),
        ("PERSIST", "k"),
        ("TTL", "k"),
        ("PERSIST", "k", "extra"),
    ])


def test_short_expire_removes_the_key(r):
    r.set("k", "v")
    assert r.pexpire("k", 40) == 1
    assert 0 < r.pttl("k") <= 40
    time.sleep(0.1)
    assert r.pttl("k") == -2
    assert r.ttl("k") == -2
    assert r.exists("k") == 0
    assert r.expire("k", 100) == 0


def test_persist_saves_a_key_from_expiry(r):
    r.set("k", "v", px=60)
    assert r.persist("k") == 1
    time.sleep(0.1)
    assert r.get("k") == b"v"
    assert r.ttl("k") == -1


def test_pexpiretime_of_a_relative_expire_is_now_plus_ttl(r):
    before = int(time.time() * 1000)
    r.set("k", "v")
    r.pexpire("k", 60000)
    after = int(time.time() * 1000)
    assert before + 60000 <= r.pexpiretime("k") <= after + 60000
    assert r.expiretime("k") == (r.pexpiretime("k") + 500) // 1000


@pytest.mark.parametrize("command", ["EXPIRE", "PEXPIRE"])
def test_expire_on_an_expired_key_replies_zero(r, command):
    r.set("k", "v", px=10)
    time.sleep(0.03)
    assert r.execute_command(command, "k", 1000) == 0
    assert r.exists("k") == 0
