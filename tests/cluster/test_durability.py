"""No acknowledged write is lost when a master dies, in zero-loss mode (min-replicas-ack).

Twenty rounds: a writer pipelines unique keys at a master, the master is killed with
SIGKILL at a random moment, its replica is promoted, and every key the master
acknowledged must be on it; then the same with the replica frozen for a second before
the master dies (a lagging replica). bench/durability.py reports the same for the
asynchronous default, which loses the writes a lagging replica had not received.
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


def test_zero_loss_mode_loses_nothing_when_the_replica_lags_behind_a_dying_master():
    for seed in range(3):
        acked, lost = kill_round(zero_loss=True, seed=seed, lagging=1.0)
        assert acked > 0
        assert lost == 0, f"round {seed}: {lost} of {acked} acknowledged writes lost"
