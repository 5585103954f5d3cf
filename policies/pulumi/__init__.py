"""FlowMaster's Pulumi policy pack. The rules live in `flowmaster_rules` (tests
import them); `__main__.py` is the pack's entry point for the Pulumi CLI."""
