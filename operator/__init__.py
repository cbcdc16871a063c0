"""redslot.operator: the control plane (cluster logic, kopf handlers, local mode)."""
