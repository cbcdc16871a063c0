"""The fault suite's history checker on histories known to be (or not be) linearizable."""

from __future__ import annotations

import math
import random

from linearizability import UNKNOWN, Op, check, check_key, lost_acknowledged

INF = math.inf


def op(client: int, kind: str, arg: object, output: object, invoke: float,
       complete: float, key: str = "k") -> Op:
    if kind == "smembers" and output != UNKNOWN:
        output = frozenset(output)  # type: ignore[arg-type]
    return Op(client, key, kind, arg, output, invoke, complete)


def linearizable(*ops: Op) -> bool | None:
    return check_key("k", list(ops)).linearizable


def test_sequential_register_history_is_linearizable() -> None:
    assert linearizable(op(0, "get", None, None, 0, 1), op(0, "set", 5, "OK", 2, 3),
                        op(0, "incr", None, 6, 4, 5), op(0, "get", None, 6, 6, 7))


def test_a_read_of_a_value_never_written_is_not_linearizable() -> None:
    assert not linearizable(op(0, "set", 5, "OK", 0, 1), op(1, "get", None, 7, 2, 3))


def test_a_stale_read_after_a_completed_write_is_not_linearizable() -> None:
    assert not linearizable(op(0, "set", 1, "OK", 0, 1), op(0, "set", 2, "OK", 2, 3),
                            op(1, "get", None, 1, 4, 5))


def test_concurrent_write_may_take_effect_before_or_after_a_read() -> None:
    write = op(0, "set", 2, "OK", 1, 10)
    before = op(1, "get", None, 2, 2, 3)
    after = op(2, "get", None, None, 4, 5)
    # The read of 2 forces the write before 3; a later read of nothing then cannot be.
    assert linearizable(write, before)
    assert linearizable(write, after)
    assert not linearizable(write, before, after)


def test_reads_must_agree_on_an_order_of_concurrent_writes() -> None:
    a = op(0, "set", 1, "OK", 0, 10)
    b = op(1, "set", 2, "OK", 0, 10)
    assert linearizable(a, b, op(2, "get", None, 1, 1, 2), op(2, "get", None, 2, 3, 4))
    assert not linearizable(a, b, op(2, "get", None, 1, 1, 2), op(2, "get", None, 2, 3, 4),
                            op(3, "get", None, 1, 5, 6), op(3, "get", None, 2, 7, 8))


def test_an_indeterminate_write_may_have_happened() -> None:
    timed_out = op(0, "set", 7, UNKNOWN, 0, INF)
    assert linearizable(timed_out, op(1, "get", None, 7, 5, 6))
    assert linearizable(timed_out, op(1, "get", None, None, 5, 6))


def test_an_indeterminate_write_cannot_take_effect_before_it_was_sent() -> None:
    assert not linearizable(op(1, "get", None, 7, 0, 1), op(0, "set", 7, UNKNOWN, 2, INF))


def test_an_indeterminate_write_seen_then_gone_is_a_dirty_read() -> None:
    # A NOACK write read by one client and later vanished: the zero-loss dirty read.
    assert not linearizable(op(0, "set", 1000, "OK", 0, 1),
                            op(0, "set", 2000, UNKNOWN, 2, INF),
                            op(1, "get", None, 2000, 3, 4), op(1, "get", None, 1000, 5, 6))


def test_an_unknown_write_seen_through_increments_must_precede_them() -> None:
    maybe = op(0, "set", 5000, UNKNOWN, 2, INF)
    assert linearizable(maybe, op(1, "incr", None, 5001, 3, 4))
    assert not linearizable(maybe, op(1, "incr", None, 5001, 0, 1))


def test_many_unknown_writes_and_increments_are_checked_quickly() -> None:
    history = [op(c, "incr", None, UNKNOWN, c * 0.1, INF) for c in range(40)]
    history += [op(c, "set", (c + 1) * 1000, UNKNOWN, c * 0.1, INF) for c in range(40)]
    history += [op(100, "get", None, 3002, 5, 6), op(100, "get", None, 3005, 7, 8)]
    verdict = check_key("k", history, budget=200_000)
    assert verdict.linearizable is True
    history.append(op(100, "get", None, 3001, 9, 10))  # an increment undone
    assert check_key("k", history, budget=200_000).linearizable is False


def test_indeterminate_increments_count_zero_or_one_each() -> None:
    incs = [op(0, "incr", None, UNKNOWN, 0, INF), op(1, "incr", None, UNKNOWN, 0, INF)]
    assert linearizable(*incs, op(2, "get", None, 2, 1, 2))
    assert linearizable(*incs, op(2, "get", None, 1, 1, 2), op(2, "get", None, 2, 3, 4))
    assert not linearizable(*incs, op(2, "get", None, 3, 1, 2))
    assert not linearizable(*incs, op(2, "get", None, 2, 1, 2), op(2, "get", None, 1, 3, 4))


def test_an_acknowledged_increment_has_its_exact_value() -> None:
    assert linearizable(op(0, "incr", None, 1, 0, 1), op(1, "incr", None, 2, 0, 2))
    assert not linearizable(op(0, "incr", None, 2, 0, 1), op(1, "incr", None, 2, 0, 2))


def test_set_history_with_an_acknowledged_member_lost_is_not_linearizable() -> None:
    assert linearizable(op(0, "sadd", "a", 1, 0, 1), op(1, "sadd", "b", 1, 0.5, 2),
                        op(2, "smembers", None, {"a"}, 0.6, 1.5),
                        op(2, "smembers", None, {"a", "b"}, 3, 4))
    assert not linearizable(op(0, "sadd", "a", 1, 0, 1), op(1, "smembers", None, set(), 2, 3))


def test_set_members_seen_must_stay() -> None:
    maybe = op(0, "sadd", "x", UNKNOWN, 0, INF)
    assert linearizable(maybe, op(1, "smembers", None, set(), 1, 2),
                        op(1, "smembers", None, {"x"}, 3, 4))
    assert not linearizable(maybe, op(1, "smembers", None, {"x"}, 1, 2),
                            op(1, "smembers", None, set(), 3, 4))


def test_sadd_reply_zero_needs_the_member_already_there() -> None:
    assert not linearizable(op(0, "sadd", "x", 0, 0, 1))
    assert linearizable(op(1, "sadd", "x", UNKNOWN, 0, INF), op(0, "sadd", "x", 0, 1, 2))


def test_indeterminate_reads_are_ignored() -> None:
    assert linearizable(op(0, "set", 1, "OK", 0, 1), op(1, "get", None, UNKNOWN, 2, INF))


def test_keys_are_checked_apart() -> None:
    history = [op(0, "set", 1, "OK", 0, 1, key="a"), op(0, "get", None, 1, 2, 3, key="a"),
               op(0, "get", None, 5, 2, 3, key="b")]
    verdicts = {v.key: v.linearizable for v in check(history)}
    assert verdicts == {"a": True, "b": False}


def test_explanation_names_the_operation_that_cannot_fit() -> None:
    verdict = check_key("k", [op(0, "set", 5, "OK", 0, 1), op(1, "get", None, 7, 2, 3)])
    assert "GET k -> 7" in verdict.explanation


def test_lost_acknowledged_counts_only_acknowledged_members() -> None:
    history = [op(0, "sadd", "a", 1, 0, 1), op(0, "sadd", "b", UNKNOWN, 2, INF),
               op(0, "sadd", "c", 1, 3, 4)]
    assert [o.arg for o in lost_acknowledged(history, {"k": frozenset({"c"})})] == ["a"]


def simulate(seed: int, clients: int, ops: int, lose: bool) -> list[Op]:
    """A register served by one atomic cell, each operation taking effect at a random
    moment within its interval; ``lose`` rolls the cell back five writes halfway through,
    as a failover to a lagging replica would."""
    rng = random.Random(seed)
    now = [0.0] * clients
    pending: list[tuple[float, int, str, int | None, float, float]] = []
    for _ in range(ops):
        c = rng.randrange(clients)
        start = now[c] + rng.random()
        end = start + rng.random() * 3
        now[c] = end
        kind = rng.choice(["get", "set", "incr"])
        pending.append((start + (end - start) * rng.random(), c, kind,
                        rng.randrange(1000) * 10 if kind == "set" else None, start, end))
    history = []
    value: int | None = None
    values: list[int | None] = [None]
    for n, (_, c, kind, arg, start, end) in enumerate(sorted(pending)):
        if lose and n == ops // 2:
            value = values[-6] if len(values) > 5 else None
        if kind == "set":
            value, out = arg, "OK"
        elif kind == "incr":
            value = 1 if value is None else value + 1
            out = value
        else:
            out = value
        values.append(value)
        history.append(Op(c, "k", kind, arg, out, start, end))
    return history


def test_random_histories_of_an_atomic_register_are_linearizable() -> None:
    for seed in range(30):
        assert check_key("k", simulate(seed, 4, 60, lose=False)).linearizable, seed


def test_random_histories_with_a_lost_write_are_caught_when_observed() -> None:
    caught = sum(not check_key("k", simulate(seed, 4, 60, lose=True)).linearizable
                 for seed in range(30))
    assert caught >= 15  # 19 of these seeds observe the rollback (a later SET can hide it)
