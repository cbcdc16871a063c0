"""The Kubernetes front end: kopf handlers, object builders, the resource as store."""
