"""Ansible inventory plugin: hosts and groups straight from the platform spec.

The inventory repeats no address or count: it reads environments/<env>.yaml.
Groups: kafka_brokers, zookeeper, kraft_controllers, kafka_connect,
schema_registry, redis, redis_masters, redis_replicas, postgresql,
postgresql_primary, postgresql_standby, pgbouncer, monitoring, edge, app.
Every host gets `fm_address`; group `all` gets `fm_spec` (the spec as data).
"""

from __future__ import annotations

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

DOCUMENTATION = r"""
name: fmctl_spec
short_description: FlowMaster hosts and groups from the platform spec
description: Reads environments/<environment>.yaml, validates it and builds the inventory.
options:
  plugin:
    description: the name of this plugin
    required: true
    choices: [fmctl_spec]
  environment:
    description: environment name (a file in environments/)
    required: true
    type: str
  connection:
    description: local (every host is this machine) or ssh (ansible_host = the host's address)
    type: str
    default: ssh
    choices: [local, ssh]
  python_interpreter:
    description: ansible_python_interpreter for every host
    type: str
    default: /usr/bin/python3
"""


class InventoryModule(BaseInventoryPlugin):
    NAME = "fmctl_spec"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("fmctl.yml", "fmctl.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        from fmctl import filters
        from fmctl.render import spec_data
        from fmctl.spec.loader import SpecError, load_spec

        try:
            spec = load_spec(self.get_option("environment")).spec
        except SpecError as exc:
            raise AnsibleParserError(f"invalid spec:\n{exc}") from None
        data = spec_data(spec)
        inventory.set_variable("all", "fm_spec", data)
        inventory.set_variable("all", "fm_env", spec.name)
        for name, host in data["hosts"].items():
            inventory.add_host(name)
            inventory.set_variable(name, "fm_address", host["address"])
            inventory.set_variable(name, "ansible_python_interpreter", self.get_option("python_interpreter"))
            if self.get_option("connection") == "local":
                inventory.set_variable(name, "ansible_connection", "local")
            else:
                inventory.set_variable(name, "ansible_host", host["address"])
        k = data["kafka"]
        groups = {
            "kafka_brokers": [n["host"] for n in filters.kafka_brokers(data)],
            "zookeeper": [n["host"] for n in filters.zookeeper_nodes(data)],
            "kraft_controllers": [n["host"] for n in filters.kraft_controllers(data)],
            "kafka_connect": k["connect"]["workers"],
            "schema_registry": k["schema_registry"]["hosts"],
            "redis": [n["host"] for n in filters.redis_nodes(data)],
            "redis_masters": [n["host"] for n in filters.redis_nodes(data) if n["role"] == "master"],
            "redis_replicas": [n["host"] for n in filters.redis_nodes(data) if n["role"] == "replica"],
            "postgresql": [n["host"] for n in filters.postgresql_nodes(data)],
            "postgresql_primary": [data["postgresql"]["primary"]],
            "postgresql_standby": [s["host"] for s in data["postgresql"]["standbys"]],
            "pgbouncer": [data["postgresql"]["pgbouncer"]["host"]],
            "monitoring": [data["monitoring"]["host"]],
            "edge": [data["gateway"]["edge_host"]],
            "app": [data["app"]["host"]],
        }
        for group, hosts in groups.items():
            inventory.add_group(group)
            for h in hosts:
                inventory.add_child(group, h)
