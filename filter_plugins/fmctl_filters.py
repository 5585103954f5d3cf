"""Ansible filter plugin: the same filters `fmctl render` uses (fmctl.filters)."""

from fmctl.filters import FILTERS


class FilterModule:
    def filters(self):
        return dict(FILTERS)
