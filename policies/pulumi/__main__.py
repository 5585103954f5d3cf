"""Entry point of the policy pack: `pulumi up --policy-pack policies/pulumi`.

Constructing PolicyPack starts the analyzer's gRPC server and blocks, so it
happens here only; the rules are in flowmaster_rules.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flowmaster_rules import ALL_POLICIES  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(name="flowmaster", enforcement_level=EnforcementLevel.MANDATORY, policies=ALL_POLICIES)
