"""Pub/Sub (pubsub.c): channels, patterns and shard channels, message delivery to
subscribed clients, keyspace notifications and client-side caching invalidations.

Sits above the keyspace (notifications and tracking react to its events through hooks
it owns) and below cluster and commands; clients are typed by ``context.Subscriber``.
"""
