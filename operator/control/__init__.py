"""The control loop: observe every node, decide, take one safe step, save, repeat.

The reconciler runs the passes and owns the loop's state; the steps it runs (healing,
resharding, rolling restarts) work in a model Context and return what they decided; the
status document is built from the record and the views after every pass, and the
Prometheus metrics are taken from that document. It may import the model, the actions and
the planner, never a front end: a front end hands it a Fleet and a Store (Protocols
defined here) and reads what it publishes.
"""
