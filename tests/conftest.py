"""Shared fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from wattsim_testing import check_invariants, tiny_scenario


@pytest.fixture
def tiny() -> dict[str, Any]:
    return tiny_scenario()


@pytest.fixture
def invariants() -> Any:
    """The DESIGN.md invariant checker: `invariants(world, result)` (tests/wattsim_testing.py)."""
    return check_invariants
