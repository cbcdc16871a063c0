"""No acknowledged write is lost when a master dies, in zero-loss mode (min-replicas-ack).

Twenty rounds: a writer pipelines unique keys at a master, the master is killed with
SIGKILL at a random moment, its replica is promoted, and every key the master
acknowledged must be on it. bench/durability.py reports the same for the asynchronous
default, where losses are expected.
"""

from __future__ import annotations

from durability import kill_round

ROUNDS = 20


def test_zero_loss_mode_loses_no_acknowledged_write_over_twenty_master_kills():
    total = 0
    for seed in range(ROUNDS):
        acked, lost = kill_round(zero_loss=True, seed=seed)
        assert lost == 0, f"round {seed}: {lost} of {acked} acknowledged writes lost"
        total += acked
    assert total > ROUNDS * 100  # the writer did get writes through
