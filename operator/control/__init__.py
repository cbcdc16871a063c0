"""The control loop: observe every node, decide, take one safe step, save, repeat.

The reconciler and the steps it runs (healing, resharding, rolling restarts), the status
document it publishes and the Prometheus metrics taken from that document. It may import
the model, the actions and the planner, never a front end: a front end hands it a Fleet
and a Store (Protocols defined here) and reads what it publishes.
"""
