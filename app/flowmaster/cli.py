"""The `flowmaster` command line: evaluate and test decision tables from .dmn files."""

from __future__ import annotations

import json
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
