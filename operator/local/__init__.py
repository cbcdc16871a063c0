"""Local mode (``redslot up``): the control plane with node processes on loopback.

The same reconciler as in Kubernetes; the fleet is a process supervisor and the store is
a directory of JSON files instead of the RedisCluster resource. A front end: it may import
the control loop and every layer below it, never the Kubernetes front end.
"""
