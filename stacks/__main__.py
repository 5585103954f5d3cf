"""The Pulumi program: read the stack config, load the spec, compose, export.

Pulumi runs this file with stacks/ first on sys.path, where its modules would
shadow top-level ones; the repository root takes its place so `stacks` and
`fmctl` import as packages.
"""

import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import pulumi  # noqa: E402

from fmctl.spec.loader import load_spec  # noqa: E402
from stacks import program, secret_source, settings  # noqa: E402

stack_settings = settings.from_config()
spec = load_spec(stack_settings.environment).spec
outputs = program.build(spec, stack_settings, secret_source.from_config(spec))
for key, value in outputs.items():
    pulumi.export(key, value)
