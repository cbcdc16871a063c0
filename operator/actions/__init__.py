"""Actions: what the control plane does to nodes, over RESP only (redis-py asyncio).

Each action is idempotent: run twice, or resumed after the control plane died halfway, it
ends in the same state. The reconciler decides which to run; nothing here decides.
"""
