"""The Kubernetes target: one ComponentResource per service (see stacks.k8s.platform)."""
