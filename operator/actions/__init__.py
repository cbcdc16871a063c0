"""Actions: what the control plane does to nodes, over RESP only (redis-py asyncio).

Each action is idempotent: run twice, or resumed after the control plane died halfway, it
ends in the same state. The reconciler decides which to run; nothing here decides. It may
import redis-py and the planner, never the model, the control loop or a front end.
"""
