"""The `flowmaster` command line: evaluate and test decision tables from .dmn files; run the service
(serve, migrate, relay, create-user; settings from FM_* variables, see flowmaster/service/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .rules import DmnError, HitPolicyViolation, evaluate_decision, load_dmn_file, run_cases
from .rules.rule_cases import CaseFileError, default_case_file, load_cases

app = typer.Typer(no_args_is_help=True, add_completion=False, help="FlowMaster application commands.")


@app.callback()
def main() -> None:
    """FlowMaster application commands."""


def _fail(message: str, hint: str) -> None:
    typer.echo(f"error: {message}", err=True)
    typer.echo(hint, err=True)
    raise typer.Exit(1)


def _read_input(text: str) -> dict[str, Any]:
    """--input is inline JSON, or @FILE for a JSON file."""
    source = "--input"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text()
        except OSError as exc:
            _fail(f"cannot read {source}: {exc.strerror}", "Pass --input '{...}' or @FILE with a JSON object.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{source} is not valid JSON: {exc}", "Pass a JSON object, e.g. --input '{\"amount\": 100}'.")
    if not isinstance(data, dict):
        _fail(f"{source} must be a JSON object, got {type(data).__name__}", "Pass a JSON object of input names to values.")
    return data


@app.command()
def decide(
    dmn_file: Annotated[Path, typer.Argument(help="A DMN 1.1-1.5 file (.dmn).", exists=True, dir_okay=False)],
    decision: Annotated[
        str | None, typer.Option("--decision", "-d", help="Decision id or name (optional if the file has one).")
    ] = None,
    input_json: Annotated[str, typer.Option("--input", "-i", help="Inputs as a JSON object, or @FILE.")] = "{}",
    validate: Annotated[bool, typer.Option(help="Also validate the file against the DMN XSD.")] = False,
) -> None:
    """Evaluate one decision against JSON inputs and print the result as JSON."""
    data = _read_input(input_json)
    try:
        model = load_dmn_file(dmn_file, validate=validate)
        result = evaluate_decision(model, decision, data)
    except HitPolicyViolation as exc:
        _fail(str(exc), "Fix the overlapping rules or choose another hit policy (FIRST, PRIORITY, COLLECT...).")
    except DmnError as exc:
        _fail(str(exc), "Fix the decision table or the inputs and run again.")
    typer.echo(json.dumps(result.to_json(), indent=2))


@app.command("test-rules")
def test_rules(
    dmn_file: Annotated[Path, typer.Argument(help="A DMN file (.dmn).", exists=True, dir_okay=False)],
    cases_file: Annotated[
        Path | None, typer.Option("--cases", help="Test case JSON (default: FILE.tests.json next to the .dmn).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcomes as JSON.")] = False,
) -> None:
    """Run the stored test cases of a decision table file; exit 1 if any fails."""
    cases_path = cases_file or default_case_file(dmn_file)
    try:
        model = load_dmn_file(dmn_file)
        outcomes = run_cases(model, load_cases(cases_path))
    except (DmnError, CaseFileError) as exc:
        _fail(str(exc), "Fix the file named above and run again.")
    except FileNotFoundError:
        _fail(f"no test cases at {cases_path}", "Write FILE.tests.json next to the .dmn or pass --cases.")
    failed = [o for o in outcomes if not o.passed]
    if as_json:
        typer.echo(json.dumps([o.to_json() for o in outcomes], indent=2))
    else:
        for outcome in outcomes:
            typer.echo(outcome.message)
        typer.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


# the service ---------------------------------------------------------------------------------
# Imports stay inside the commands: decide/test-rules must not need the service's dependencies.


def _settings() -> Any:
    from .service.settings import Settings, SettingsError

    try:
        return Settings.load()
    except SettingsError as exc:
        _fail(str(exc), "Set the FM_* variables or FM_SETTINGS_FILE (see flowmaster/service/README.md).")


@app.command()
def serve() -> None:
    """Run the API (uvicorn) with the outbox relay thread, on settings.listen_host:listen_port."""
    from .service.commands import serve as run

    run(_settings())


@app.command()
def migrate(revision: Annotated[str, typer.Option(help="Alembic revision to upgrade to.")] = "head") -> None:
    """Create or upgrade the service's tables (safe to run from several hosts at once)."""
    from .service.commands import migrate as run

    try:
        before, after = run(_settings(), revision)
    except Exception as exc:  # a failed migration must say why in one line, then stop the deploy
        _fail(f"migration failed: {type(exc).__name__}: {exc}", "Check the database settings and that pgbouncer is up.")
    # Deployments read this line to report a change only when the schema moved.
    typer.echo(f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@app.command("check-settings")
def check_settings() -> None:
    """Load the settings (FM_SETTINGS_FILE, FM_SECRETS_FILE, FM_* variables) and say whether they are valid."""
    settings = _settings()
    typer.echo(f"settings valid for environment {settings.environment}")


@app.command()
def relay(once: Annotated[bool, typer.Option("--once", help="Publish what is pending, then exit.")] = False) -> None:
    """Publish the transactional outbox to Kafka (also runs inside `serve` unless FM_RELAY_IN_SERVICE=false)."""
    from .service.commands import relay as run

    sent = run(_settings(), once=once)
    if once:
        typer.echo(f"published {sent} event(s)")


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    legal_entity: Annotated[list[str], typer.Option("--legal-entity", "-e", help="A legal entity of the user (repeat).")],
    role: Annotated[list[str] | None, typer.Option("--role", "-r", help="An approver role the user holds (repeat).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create or update a user: password (hashed with scrypt), legal entities, approver roles."""
    from .service.commands import create_user as run

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        _fail("empty password", "Give a password (e.g. echo \"$PW\" | flowmaster create-user NAME -e LE --password-stdin).")
    user_id, created = run(_settings(), username, password, legal_entity, role or [])
    typer.echo(f"{'created' if created else 'updated'} user {username} ({user_id})")
