"""Tiny scenarios for tests: 2 DGX H100 nodes, one day, run in well under a second."""

from __future__ import annotations

import copy
from typing import Any


def tiny_scenario(**sections: Any) -> dict[str, Any]:
    """A small scenario document: 2 DGX H100 nodes, 1 day, PUE 1.1, grid only."""
    doc: dict[str, Any] = {
        "name": "tiny",
        "start": "2020-06-01T00:00:00Z",
        "duration": "1d",
        "seed": 1,
        "cluster": {"nodes": 2, "node_type": "dgx-h100"},
        "workload": {"jobs": []},
        "cooling": {"model": "constant-pue", "pue": 1.1},
        "plant": {"step": "300s"},
        "output": {"interval": "1h"},
    }
    for key, value in sections.items():
        doc[key] = copy.deepcopy(value)
    return doc
