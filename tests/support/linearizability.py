"""Checking a history of GET/SET/INCR and SADD/SMEMBERS operations for linearizability.

Wing & Gong's search with Lowe's memoisation (the algorithm porcupine and Knossos use): take
the operations' invocations and completions in time order; repeatedly linearize an operation
whose invocation comes before every pending completion and whose result the model accepts,
backtracking when a completion is reached whose operation was not linearized in time. A
configuration already explored (the set of linearized operations and the model's state) is
not explored again. Linearizability is compositional, so each key is checked on its own.

An operation of unknown outcome (a timeout, a connection lost, a write answered NOACK) may
or may not have taken effect: its completion is at infinity and its result is accepted
whatever it is, so it can be linearized anywhere after its invocation, or last, which is
the same as never. A read of unknown outcome constrains nothing and is left out; an
operation refused for sure (CLUSTERDOWN, MOVED before it ran) is left out too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

UNKNOWN = "?"  # the output of an operation of unknown outcome
REFUSED = "!"  # the output of an operation refused for sure (it did not run)
READS = ("get", "smembers")


@dataclass(frozen=True)
class Op:
    """One operation on one key: what it asked (``kind``, ``arg``), what it got (``output``,
    ``UNKNOWN`` when the outcome is unknown), and when (seconds, one monotonic clock)."""

    client: int
    key: str
    kind: str  # get | set | incr | sadd | smembers
    arg: Any
    output: Any
    invoke: float
    complete: float
    node: str = ""  # the node that answered, when known (for the report only)

    @property
    def indeterminate(self) -> bool:
        return self.output == UNKNOWN

    def to_json(self) -> list[Any]:
        output = sorted(self.output) if isinstance(self.output, frozenset) else self.output
        complete = None if math.isinf(self.complete) else self.complete
        return [self.client, self.key, self.kind, self.arg, output, self.invoke, complete,
                self.node]

    @classmethod
    def from_json(cls, row: list[Any]) -> Op:
        client, key, kind, arg, output, invoke, complete, node = row
        if kind == "smembers" and output not in (UNKNOWN, REFUSED):
            output = frozenset(output)
        return cls(client, key, kind, arg, output, invoke,
                   math.inf if complete is None else complete, node)


State = Hashable
Step = Callable[[State, Op], tuple[bool, State]]


def register_step(state: State, op: Op) -> tuple[bool, State]:
    """A string register holding None (no key) or an integer: GET, SET, INCR."""
    if op.kind == "get":
        return op.output == state, state
    if op.kind == "set":
        return True, op.arg
    if op.kind == "incr":
        new = 1 if state is None else int(state) + 1  # type: ignore[call-overload]
        return op.indeterminate or op.output == new, new
    raise ValueError(f"not a register operation: {op.kind}")


def set_step(state: State, op: Op) -> tuple[bool, State]:
    """A set (frozenset of members): SADD of one member (replying 1 or 0), SMEMBERS."""
    assert isinstance(state, frozenset)
    if op.kind == "smembers":
        return op.output == state, state
    if op.kind == "sadd":
        added = 0 if op.arg in state else 1
        return op.indeterminate or op.output == added, state | {op.arg}
    raise ValueError(f"not a set operation: {op.kind}")


MODELS: dict[str, tuple[Step, State]] = {
    "get": (register_step, None), "set": (register_step, None), "incr": (register_step, None),
    "sadd": (set_step, frozenset()), "smembers": (set_step, frozenset()),
}


@dataclass
class Verdict:
    key: str
    ops: int
    linearizable: bool | None  # None: the search gave up (budget spent)
    explanation: str = ""


SET_SPACING = 1000  # the workload's SET values: distinct multiples of this; INCR adds 1


def derives_from(value: Any, written: int) -> bool:
    """Whether a register value read could only exist after the SET of ``written``: it is
    that value or one INCR'd from it (fewer than SET_SPACING times)."""
    return isinstance(value, int) and value // SET_SPACING == written // SET_SPACING


def settle_unknown_writes(ops: list[Op]) -> list[Op]:
    """Unknown-outcome SETs and SADDs of values written once, made cheaper to search,
    exactly: one nobody observed is left out (taking effect last is the same as never, and
    no later read or INCR saw it); one observed must take effect before the first
    operation that observed it completed, which becomes its completion."""
    def seen_by(op: Op) -> float:
        if op.kind == "set":
            return min((o.complete for o in ops if not o.indeterminate
                        and o.kind in ("get", "incr") and derives_from(o.output, op.arg)),
                       default=math.inf)
        return min((o.complete for o in ops if not o.indeterminate and (
            (o.kind == "smembers" and op.arg in o.output)
            or (o.kind == "sadd" and o.arg == op.arg and o.output == 0))), default=math.inf)

    settled = []
    for op in ops:
        if op.indeterminate and op.kind in ("set", "sadd"):
            first = seen_by(op)
            if math.isinf(first):
                continue
            op = Op(op.client, op.key, op.kind, op.arg, op.output, op.invoke, first)
        settled.append(op)
    return settled


def check_key(key: str, ops: list[Op], budget: int = 2_000_000) -> Verdict:
    """One key's history (operations of one model) checked; ``budget`` bounds the steps.

    Unknown-outcome INCRs still pending are interchangeable (same effect, no result to
    match, none can be late): configurations that linearized as many of them, with the
    same other operations and state, are one."""
    ops = settle_unknown_writes([op for op in ops if op.output != REFUSED
                                 and not (op.indeterminate and op.kind in READS)])
    if not ops:
        return Verdict(key, 0, True)
    step, state = MODELS[ops[0].kind]
    n = len(ops)
    events = sorted([(op.invoke, 0, i) for i, op in enumerate(ops)]
                    + [(op.complete, 1, i) for i, op in enumerate(ops)])
    head = len(events)
    nxt = [k + 1 for k in range(len(events))] + [0]
    nxt[len(events) - 1] = -1
    prv = [k - 1 for k in range(len(events))] + [-1]
    prv[0] = head
    is_return = [kind for _, kind, _ in events]
    op_of = [i for _, _, i in events]
    call_at = [0] * n
    return_at = [0] * n
    for position, (_, kind, i) in enumerate(events):
        (return_at if kind else call_at)[i] = position

    def unlink(position: int) -> None:
        nxt[prv[position]] = nxt[position]
        if nxt[position] != -1:
            prv[nxt[position]] = prv[position]

    def relink(position: int) -> None:
        nxt[prv[position]] = position
        if nxt[position] != -1:
            prv[nxt[position]] = position

    free = 0  # the interchangeable INCRs, as a bit mask
    for i, op in enumerate(ops):
        if op.kind == "incr" and math.isinf(op.complete):
            free |= 1 << i
    linearized = 0
    stack: list[tuple[int, State]] = []
    seen: set[tuple[int, int, State]] = set()
    deepest: tuple[int, int, State, list[int]] = (-1, -1, state, [])
    entry = nxt[head]
    steps = 0
    while nxt[head] != -1:
        steps += 1
        if steps > budget:
            return Verdict(key, n, None, f"gave up after {budget} steps")
        i = op_of[entry]
        if not is_return[entry]:
            ok, new = step(state, ops[i])
            if ok:
                after = linearized | 1 << i
                config = (after & ~free, (after & free).bit_count(), new)
                if config not in seen:
                    seen.add(config)
                    stack.append((i, state))
                    state, linearized = new, after
                    unlink(call_at[i])
                    unlink(return_at[i])
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
            continue
        if len(stack) > deepest[0]:
            window = []
            position = nxt[head]
            while position != entry:
                if not is_return[position]:
                    window.append(op_of[position])
                position = nxt[position]
            deepest = (len(stack), i, state, window)
        if not stack:
            break
        i, state = stack.pop()
        linearized &= ~(1 << i)
        relink(return_at[i])
        relink(call_at[i])
        entry = nxt[call_at[i]]
    else:
        return Verdict(key, n, True)
    return Verdict(key, n, False, explain(ops, deepest))


def explain(ops: list[Op], deepest: tuple[int, int, State, list[int]]) -> str:
    depth, stuck, state, window = deepest
    lines = [f"after {depth} operations linearized, state {show(state)}, no order fits "
             f"before {describe(ops[stuck])} completed; candidates then:"]
    lines += [f"  {describe(ops[i])}" for i in sorted(window, key=lambda i: ops[i].invoke)]
    return "\n".join(lines)


def show(value: Any) -> str:
    if isinstance(value, frozenset):
        return "{" + ",".join(sorted(map(str, value))[:20]) + (
            ",..." if len(value) > 20 else "") + f"}} ({len(value)})"
    return repr(value)


def describe(op: Op) -> str:
    arg = "" if op.arg is None else f" {op.arg}"
    return (f"client {op.client} {op.kind.upper()} {op.key}{arg} -> {show(op.output)} "
            f"[{op.invoke:.4f}, {op.complete:.4f}]{' at ' + op.node if op.node else ''}")


def check(history: Iterable[Op], budget: int = 2_000_000) -> list[Verdict]:
    """Every key's verdict (P-compositionality: each key is an object of its own)."""
    per_key: dict[str, list[Op]] = defaultdict(list)
    for op in history:
        per_key[op.key].append(op)
    return [check_key(key, ops, budget) for key, ops in sorted(per_key.items())]


def lost_acknowledged(history: Iterable[Op], final: dict[str, frozenset[Any]]) -> list[Op]:
    """SADDs acknowledged (answered 1) whose member is not in the key's final SMEMBERS."""
    return [op for op in history if op.kind == "sadd" and op.output == 1
            and op.key in final and op.arg not in final[op.key]]
