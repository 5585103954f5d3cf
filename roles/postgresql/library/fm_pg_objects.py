#!/usr/bin/python3
"""Ansible module: login roles and databases on a PostgreSQL primary, as the spec lists them.

Read before write: each role's attributes and stored SCRAM verifier, and each
database's owner, are read from the catalogue first; a statement runs only
where they differ. Passwords arrive as SCRAM-SHA-256 verifiers (computed by
the fm_scram_sha256 filter with a salt derived from user and password), so
comparing is a string comparison and no plain password reaches the server,
its logs or a process list. Statements go to psql on stdin.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: fm_pg_objects
short_description: Login roles (with SCRAM verifiers) and databases with their owners on a PostgreSQL primary
options:
  psql:
    description: Path of psql.
    type: path
    required: true
  host:
    description: Address of the primary.
    type: str
    required: true
  port:
    description: Port of the primary.
    type: int
    required: true
  user:
    description: Superuser to connect as; its password comes from I(passfile).
    type: str
    required: true
  passfile:
    description: libpq password file holding the superuser's password.
    type: path
    required: true
  roles:
    description: Roles, each with name, verifier (SCRAM-SHA-256 string) and optional replication/superuser flags.
    type: list
    elements: dict
    required: true
  databases:
    description: Database name -> {owner, ...} (the spec's postgresql.databases).
    type: dict
    required: true
"""

RETURN = r"""
actions:
  description: Statements' purposes, in order (no secret in them).
  type: list
  returned: always
"""


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Pg:
    def __init__(self, module: AnsibleModule):
        self.module = module
        p = module.params
        self.base = [p["psql"], "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", p["host"], "-p", str(p["port"]),
                     "-U", p["user"], "-d", "postgres"]
        self.env = {"PGPASSFILE": p["passfile"], "PGCONNECT_TIMEOUT": "10"}

    def run(self, sql: str) -> list[list[str]]:
        rc, out, err = self.module.run_command([*self.base, "-F", "\t", "-f", "-"], data=sql, environ_update=self.env,
                                               binary_data=True)
        if rc != 0:
            self.module.fail_json(msg=f"psql failed: {err.strip()}")
        return [line.split("\t") for line in out.splitlines() if line]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "psql": {"type": "path", "required": True},
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "user": {"type": "str", "required": True},
            "passfile": {"type": "path", "required": True, "no_log": False},
            "roles": {"type": "list", "elements": "dict", "required": True, "no_log": True},
            "databases": {"type": "dict", "required": True},
        },
        supports_check_mode=True,
    )
    pg = Pg(module)
    actions: list[str] = []
    statements: list[str] = []

    live = {r[0]: r[1:] for r in pg.run(
        "SELECT rolname, rolcanlogin, rolreplication, rolsuper, coalesce(rolpassword, '') FROM pg_authid")}
    for role in module.params["roles"]:
        name, verifier = role["name"], role["verifier"]
        want = ("t", "t" if role.get("replication") else "f", "t" if role.get("superuser") else "f")
        attrs = "LOGIN " + ("REPLICATION " if role.get("replication") else "NOREPLICATION ") + \
                ("SUPERUSER" if role.get("superuser") else "NOSUPERUSER")
        if name not in live:
            actions.append(f"create role {name}")
            statements.append(f"CREATE ROLE {ident(name)} {attrs} PASSWORD {literal(verifier)};")
        elif tuple(live[name][:3]) != want or live[name][3] != verifier:
            actions.append(f"align role {name} (attributes or password)")
            statements.append(f"ALTER ROLE {ident(name)} WITH {attrs} PASSWORD {literal(verifier)};")
    if statements and not module.check_mode:
        pg.run("SET log_statement = 'none';\n" + "\n".join(statements))

    owners = {r[0]: r[1] for r in pg.run("SELECT datname, pg_get_userbyid(datdba) FROM pg_database")}
    for name, db in sorted(module.params["databases"].items()):
        owner = db["owner"]
        if name not in owners:
            actions.append(f"create database {name} owned by {owner}")
            if not module.check_mode:  # CREATE DATABASE cannot share a transaction: one call each
                pg.run(f"CREATE DATABASE {ident(name)} OWNER {ident(owner)};")
        elif owners[name] != owner:
            actions.append(f"database {name}: owner {owners[name]} -> {owner}")
            if not module.check_mode:
                pg.run(f"ALTER DATABASE {ident(name)} OWNER TO {ident(owner)};")
    module.exit_json(changed=bool(actions), actions=actions)


if __name__ == "__main__":
    main()
