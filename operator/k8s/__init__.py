"""The Kubernetes front end: kopf handlers, object builders, the StatefulSet fleet, and the
RedisCluster resource as the store. It may import the control loop and every layer below
it (and kopf, aiohttp), never the local front end.
"""
