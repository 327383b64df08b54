"""The documented control API: the example in docs/scheduling.md runs as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from sim import load_scenario, simulate
from sim.scheduling.control_api import ControlContext, JobView

DOC = Path(__file__).resolve().parents[1] / "docs" / "scheduling.md"
H100_FLOPS_1H = 8 * 989e12 * 0.4 * 3600.0  # 8 H100 at the catalog's default MFU 0.4 for one hour


@pytest.fixture
def doc_control(tmp_path, monkeypatch):
    """The docs' `mypackage/controls.py`, written to a package on sys.path."""
    text = DOC.read_text()
    code = re.search(r"```python\n# mypackage/controls.py\n(.*?)```", text, re.S).group(1)
    pkg = tmp_path / "mypackage_doc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "controls.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "mypackage_doc.controls:NightOnly"
    for m in [m for m in sys.modules if m.startswith("mypackage_doc")]:
        del sys.modules[m]


def test_the_documented_control_uses_only_the_api(doc_control):
    code = (DOC.read_text().split("# mypackage/controls.py", 1)[1]).split("```", 1)[0]
    # only the documented names: options, context (now_s, start) and JobView fields
    assert re.findall(r"self\.ctx\.(\w+)", code) and set(re.findall(r"self\.ctx\.(\w+)", code)) <= {
        n for n in dir(ControlContext) if not n.startswith("_")}
    assert set(re.findall(r"job\.(\w+)", code)) <= set(JobView.__dataclass_fields__)


def test_the_documented_control_holds_large_jobs_until_night(doc_control):
    # start 2020-06-01 12:00 UTC: a 16-GPU job waits 10 h until 22:00; an 8-GPU job starts at once
    doc = {
        "name": "night", "start": "2020-06-01T12:00:00Z", "duration": "until-done", "max_duration": "3d",
        "cluster": {"nodes": 2, "node_type": "dgx-h100"},
        "workload": {"jobs": [
            {"name": "big", "accelerators": 16, "flops": 2 * H100_FLOPS_1H},
            {"name": "small", "accelerators": 8, "submit": 60, "flops": H100_FLOPS_1H},
        ]},
        "scheduler": {"controls": [{"kind": doc_control, "min_accelerators": 16}]},
    }
    jobs = simulate(load_scenario(doc)).jobs.set_index("name")
    assert jobs.loc["small", "start_s"] == pytest.approx(60.0)
    assert jobs.loc["big", "start_s"] == pytest.approx(10 * 3600.0)
    assert jobs.loc["big", "end_s"] - jobs.loc["big", "start_s"] == pytest.approx(3600.0, rel=1e-6)
