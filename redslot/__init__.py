"""redslot: a Redis-compatible, Kubernetes-native sharded cluster."""

__version__ = "0.1.0"
