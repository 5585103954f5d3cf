"""fmctl: validate, render, bring up, verify, stop and inspect a FlowMaster platform.

Every command takes --env (default: local) and --json. Exit codes:
0 ok, 1 the platform differs from the spec / a step failed, 2 the spec is invalid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fmctl.paths import INVENTORIES_DIR, PLAYBOOKS_DIR, REPO_ROOT, state_dir
from fmctl.spec.loader import LoadedSpec, SpecError, load_spec

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EnvOpt = Annotated[str, typer.Option("--env", "-e", help="environment name (environments/<env>.yaml) or a spec file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]

# Which inventory serves an environment: its own folder, else none (Pulumi-only).
INVENTORY_FOR = {"local": "local", "prod": "example-prod"}


def _emit(as_json: bool, payload: dict) -> None:
    if as_json:
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))


def _load(env: str, as_json: bool) -> LoadedSpec:
    """Load and validate, or exit 2 with every finding."""
    try:
        loaded = load_spec(env)
    except SpecError as exc:
        if as_json:
            _emit(True, {"env": env, "valid": False, "errors": [f.__dict__ for f in exc.findings]})
        else:
            for f in exc.findings:
                err.print(f"[red]error[/red] {f.path}: {f.message}", highlight=False)
            err.print(f"[bold]{len(exc.findings)} error(s) in the {env} spec: fix them and run `fmctl validate --env {env}`.",
                      highlight=False)
        raise typer.Exit(2) from None
    if not as_json:
        for w in loaded.warnings:
            err.print(f"[yellow]warning[/yellow] {w.path}: {w.message}", highlight=False)
    return loaded


def _fail(message: str, hint: str, code: int = 1) -> None:
    err.print(f"[red]{message}[/red]", highlight=False)
    err.print(hint, highlight=False)
    raise typer.Exit(code)


@app.command()
def validate(env: EnvOpt = "local", as_json: JsonOpt = False) -> None:
    """Check the spec: structure, secrets, invariants. Touches nothing."""
    loaded = _load(env, as_json)
    _emit(as_json, {"env": loaded.spec.name, "valid": True, "warnings": [w.__dict__ for w in loaded.warnings],
                    "sources": [str(p) for p in loaded.sources]})
    if not as_json:
        out.print(f"[green]{loaded.spec.name}: valid[/green] ({len(loaded.warnings)} warning(s))")


@app.command()
def render(
    env: EnvOpt = "local",
    out_dir: Annotated[Path | None, typer.Option("--out", help="default: <state>/<env>/rendered")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render every config file of the environment from the shared templates."""
    from fmctl.render import write_all

    loaded = _load(env, as_json)
    target = out_dir or state_dir(loaded.spec.name) / "rendered"
    try:
        files = write_all(loaded.spec, target)
    except Exception as exc:  # a template bug, not the user's spec: say which template
        where = "; ".join(getattr(exc, "__notes__", []))
        _fail(f"render failed: {type(exc).__name__}: {exc} ({where})",
              "Fix that template (or the filter it calls) and run `fmctl render` again.")
    _emit(as_json, {"env": loaded.spec.name, "out": str(target), "files": [str(p.relative_to(target)) for p in files]})
    if not as_json:
        for p in files:
            out.print(f"  {p.relative_to(target)}")
        out.print(f"[green]{len(files)} file(s) rendered to {target}[/green]")


def _inventory(env: str) -> Path:
    name = INVENTORY_FOR.get(env)
    if name is None or not (INVENTORIES_DIR / name).exists():
        _fail(f"No Ansible inventory serves the {env} environment.",
              f"{env} is deployed with Pulumi: see README.md, 'Pulumi stacks'.")
    return INVENTORIES_DIR / name


_TASK_RE = re.compile(r"^(PLAY|TASK|RUNNING HANDLER) \[(.*)\]")
_RECAP_RE = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def run_playbook(env: str, playbook: str, as_json: bool, extra: list[str] | None = None) -> dict:
    """Run a playbook for env; stream progress; return the recap totals."""
    from fmctl import secrets

    loaded = _load(env, as_json)
    inventory = _inventory(loaded.spec.name)
    secrets_file = secrets.write_for_ansible(loaded.spec)
    log_path = state_dir(loaded.spec.name) / "logs" / f"{Path(playbook).stem}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    ansible = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable)) or "ansible-playbook"
    cmd = [ansible, "-i", str(inventory), str(PLAYBOOKS_DIR / playbook), "-e", f"@{secrets_file}", *(extra or [])]
    environ = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1"}
    totals = {"ok": 0, "changed": 0, "unreachable": 0, "failed": 0}
    started = time.monotonic()
    tail: list[str] = []
    with log_path.open("w") as log, subprocess.Popen(cmd, cwd=REPO_ROOT, env=environ, stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            tail = (tail + [line.rstrip()])[-40:]
            if m := _TASK_RE.match(line):
                if not as_json:
                    elapsed = time.monotonic() - started
                    style = "bold" if m.group(1) == "PLAY" else "dim"
                    out.print(f"[{style}]{elapsed:6.0f}s {m.group(1).lower():<7} {m.group(2)}[/{style}]", highlight=False)
            elif line.startswith(("fatal:", "failed:")) and not as_json:
                err.print(line.rstrip()[:400], highlight=False)
            elif m := _RECAP_RE.match(line):
                for key, idx in (("ok", 2), ("changed", 3), ("unreachable", 4), ("failed", 5)):
                    totals[key] += int(m.group(idx))
    result = {"env": loaded.spec.name, "playbook": playbook, "rc": proc.returncode, "log": str(log_path),
              "seconds": round(time.monotonic() - started, 1), **totals}
    if proc.returncode != 0 and not as_json:
        err.print("\n".join(tail[-15:]), highlight=False)
    return result


@app.command()
def up(
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    tags: Annotated[str | None, typer.Option("--tags", help="only: kafka,redis,postgresql,app,monitoring,edge")] = None,
    var: Annotated[list[str] | None, typer.Option(
        "--var", help="a role variable NAME=VALUE (repeat), e.g. flowmaster_wheel=dist/flowmaster-0.1.0-py3-none-any.whl; "
        "numbers belong in the spec, not here")] = None,
) -> None:
    """Bring the platform up (or bring it back to the spec): runs playbooks/site.yml."""
    extra = ["--tags", tags] if tags else []
    for item in var or []:
        name, sep, _ = item.partition("=")
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            _fail(f"--var {item!r}: expected NAME=VALUE with a role variable's name", "e.g. --var flowmaster_wheel=PATH", 2)
        extra += ["-e", item]
    result = run_playbook(env, "site.yml", as_json, extra)
    _emit(as_json, result)
    if result["rc"] != 0:
        _fail(f"up failed after {result['seconds']}s (failed={result['failed']}).",
              f"Read {result['log']}, fix the cause and run `fmctl up --env {env}` again: finished steps are kept.")
    if not as_json:
        out.print(f"[green]{env} is up[/green] in {result['seconds']}s: ok={result['ok']} changed={result['changed']}. "
                  f"Next: `fmctl verify --env {env}`.")


@app.command()
def down(env: EnvOpt = "local", as_json: JsonOpt = False) -> None:
    """Stop every service of the platform; data (topics, keys, rows) is kept."""
    result = run_playbook(env, "down.yml", as_json)
    _emit(as_json, result)
    if result["rc"] != 0:
        _fail("down failed.", f"Read {result['log']}.")
    if not as_json:
        out.print(f"[green]{env} is stopped[/green]; data is kept. `fmctl up --env {env}` starts it again.")


@app.command()
def verify(
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    component: Annotated[list[str] | None, typer.Option("--component", "-c", help="only these components")] = None,
) -> None:
    """Compare the live platform with the spec; print spec vs live; non-zero on any drift."""
    from fmctl import secrets
    from fmctl.render import spec_data
    from fmctl.verify import run
    from fmctl.verify.report import Context, drift

    loaded = _load(env, as_json)
    ctx = Context(loaded.spec, spec_data(loaded.spec), secrets.resolve(loaded.spec))
    checks = []
    for check in run(ctx, component):
        checks.append(check)
        if not as_json:
            mark = "[green]ok  [/green]" if check.ok else "[red]DIFF[/red]"
            out.print(f"{mark} {check.component:<11} {check.name:<52} spec={check.spec!s:<14} live={check.live!s}",
                      highlight=False)
    bad = drift(checks)
    _emit(as_json, {"env": loaded.spec.name, "checks": [c.as_dict() for c in checks], "drift": len(bad)})
    if bad:
        _fail(f"{len(bad)} of {len(checks)} check(s) differ from the spec.",
              f"Run `fmctl up --env {env}` to converge, then verify again.")
    if not as_json:
        out.print(f"[green]{len(checks)} checks: the live platform matches the spec.[/green]")


@app.command()
def events(
    topic: Annotated[str, typer.Argument(help="a topic of kafka.topics, e.g. process_events")],
    env: EnvOpt = "local",
    key: Annotated[str | None, typer.Option("--key", "-k", help="only records with this key (a process or instance id)")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="stop after this many records")] = 1000,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="seconds to wait for the cluster")] = 30.0,
) -> None:
    """Print the records of a topic, oldest first, as JSON lines (read as the Kafka admin; commits nothing)."""
    from fmctl import secrets
    from fmctl.kafka_admin import read_topic
    from fmctl.render import spec_data

    loaded = _load(env, as_json=True)
    if topic not in loaded.spec.kafka.topics:
        _fail(f"{topic} is not a topic of the {env} spec.", f"Topics: {', '.join(sorted(loaded.spec.kafka.topics))}.", 2)
    try:
        for record in read_topic(spec_data(loaded.spec), secrets.resolve(loaded.spec), topic, key=key, limit=limit,
                                 timeout=timeout):
            print(json.dumps(record, sort_keys=True), flush=True)
    except TimeoutError as exc:
        _fail(str(exc), f"Is Kafka up? `fmctl verify --env {env} -c kafka`.")


@app.command()
def status(env: EnvOpt = "local", as_json: JsonOpt = False) -> None:
    """Show which platform services run on this machine."""
    loaded = _load(env, as_json)
    if loaded.spec.service_manager == "supervisor":
        proc = subprocess.run(["supervisorctl", "status"], capture_output=True, text=True)
        rows = [line.split(None, 2) for line in proc.stdout.splitlines() if line.startswith("fm-")]
        services = [{"name": r[0], "state": r[1], "detail": r[2] if len(r) > 2 else ""} for r in rows]
    else:
        proc = subprocess.run(["systemctl", "list-units", "fm-*", "--no-legend", "--plain"], capture_output=True, text=True)
        services = [{"name": p[0], "state": p[3], "detail": " ".join(p[4:])} for p in
                    (line.split() for line in proc.stdout.splitlines()) if len(p) >= 4]
    _emit(as_json, {"env": loaded.spec.name, "services": services})
    if not as_json:
        if not services:
            out.print(f"No FlowMaster service runs here. `fmctl up --env {env}` starts them.")
        for s in services:
            color = "green" if s["state"] == "RUNNING" or s["state"] == "running" else "red"
            out.print(f"[{color}]{s['state']:<9}[/{color}] {s['name']:<28} {s['detail']}", highlight=False)


if __name__ == "__main__":
    app()
