"""Checks, the verifier's context and the spec-vs-live report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fmctl.spec.model import PlatformSpec


@dataclass
class Context:
    spec: PlatformSpec
    data: dict  # the spec as JSON data (what templates see)
    secrets: dict[str, str] = field(default_factory=dict)  # reference -> value

    def secret(self, ref: str) -> str:
        return self.secrets[ref]

    def address(self, host: str) -> str:
        return self.data["hosts"][host]["address"]


@dataclass
class Check:
    component: str
    name: str  # what is checked, e.g. "topic process_events partitions"
    spec: object  # what the spec asks for
    live: object  # what the live system says
    ok: bool | None = None  # None: decided by spec == live

    def __post_init__(self) -> None:
        if self.ok is None:
            self.ok = self.spec == self.live

    def as_dict(self) -> dict:
        d = asdict(self)
        d["spec"], d["live"] = _plain(self.spec), _plain(self.live)
        return d


def _plain(v: object) -> object:
    return v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)


def drift(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
