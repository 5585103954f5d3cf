"""Built-in service task handlers (settings.service_handlers maps a BPMN topic to one of these or
to any importable 'module:function').

A handler gets a copy of the task's data and returns the variables to set.
"""

from __future__ import annotations

import hashlib
from typing import Any

TIERS = ("standard", "gold", "platinum")


def score_customer(data: dict[str, Any]) -> dict[str, Any]:
    """The example process's `score-customer` topic: keeps a given customerTier, else derives a
    stable one from the customer id (a stand-in for a scoring service)."""
    tier = data.get("customerTier")
    if tier in TIERS:
        return {"customerTier": tier}
    customer = str(data.get("customerId", ""))
    return {"customerTier": TIERS[hashlib.sha256(customer.encode()).digest()[0] % len(TIERS)]}
