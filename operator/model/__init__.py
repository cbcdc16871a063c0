"""The model: what the control plane knows of a cluster, as plain data and pure functions.

The spec (what the user asked for) and the record (what the control plane has done, saved
after every step), the topology table the record describes, and the context a step of the
control loop works in. It may import the actions (for the node views and connections a
context carries) and the planner, never the control loop or a front end.
"""
