"""The Pulumi program of the FlowMaster platform: one spec in, two targets out.

`stacks/__main__.py` (the program Pulumi runs) reads the stack's config, loads
`environments/<env>.yaml` and composes the components of the stack's target:

  stacks.k8s     Kubernetes: operators and charts the field relies on
                 (Strimzi, CloudNativePG, kube-arangodb, Vault, Kong, Istio,
                 kube-prometheus-stack, Loki, Jaeger) plus the FlowMaster app
  stacks.docker  one Docker host: a network, named volumes, one container per node

`stacks.program.build(spec, settings, secrets)` does the composing, so tests
run it fresh under Pulumi's mocks with any spec.
"""
