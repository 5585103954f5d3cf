"""FlowMaster: the process-management application (pure domain core)."""

__version__ = "0.1.0"
