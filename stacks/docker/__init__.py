"""The Docker target: one host, one network, one container per node (see stacks.docker.platform)."""
