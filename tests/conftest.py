"""Shared fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from wattsim_testing import tiny_scenario


@pytest.fixture
def tiny() -> dict[str, Any]:
    return tiny_scenario()
