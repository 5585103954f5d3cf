"""Where things are: the repository's folders and the state kept outside it."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS_DIR = REPO_ROOT / "environments"
TEMPLATES_DIR = REPO_ROOT / "templates"
PLAYBOOKS_DIR = REPO_ROOT / "playbooks"
INVENTORIES_DIR = REPO_ROOT / "inventories"


def state_dir(env: str) -> Path:
    """Per-environment state outside the tree: generated secrets, rendered files.

    FLOWMASTER_STATE_DIR moves it (tests use a temporary folder).
    """
    base = Path(os.environ.get("FLOWMASTER_STATE_DIR", Path.home() / ".local/state/flowmaster"))
    return base / env
