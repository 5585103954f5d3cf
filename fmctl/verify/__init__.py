"""The verifier: read the live platform through its own admin interfaces and
compare with the spec. One module per component, each with

    def checks(ctx: Context) -> Iterator[Check]

A Check carries the spec's value and the live one; `verify` prints them all
(the drift report) and fails on any difference. A component whose server is
unreachable yields a failed check saying so: it is never reported verified.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from fmctl.verify.report import Check, Context

# Modules below fmctl.verify, in the order the report shows them.
COMPONENTS = ("kafka", "zookeeper", "redis", "postgresql", "app", "monitoring", "edge")


def run(ctx: Context, only: list[str] | None = None) -> Iterator[Check]:
    for name in COMPONENTS:
        if only and name not in only:
            continue
        try:
            module = importlib.import_module(f"fmctl.verify.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"fmctl.verify.{name}":
                raise
            yield Check(name, "verifier", "present", "not written yet", ok=False)
            continue
        try:
            yield from module.checks(ctx)
        except Exception as exc:  # an unreachable server is a failed check, not a crash
            yield Check(name, "reachable", "yes", f"{type(exc).__name__}: {exc}", ok=False)
