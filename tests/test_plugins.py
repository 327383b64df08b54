"""A user's own models, named 'package.module:Class' in the scenario, run without editing wattsim."""

import math
import sys
import textwrap

import pytest
from wattsim_testing import tiny_scenario

from sim import ScenarioError, load_scenario, simulate
from sim.registry import import_object

COOLING_MODULE = textwrap.dedent('''
    from sim.engine.contracts import CoolingStep

    class FixedCop:
        """Cooling power = IT heat / COP, no losses: the simplest physical model."""

        def __init__(self, options, start, duration_s, step_s, it_capacity_w, weather):
            self.cop = options.get("cop", 4.0)

        def step(self, t0, t1, it_energy_j):
            return CoolingStep(power_w={"chiller": it_energy_j / (t1 - t0) / self.cop})

        def config(self):
            return {"model": "fixed-cop", "cop": self.cop}
''')


SUPPLY_MODULE = textwrap.dedent('''
    from sim.engine.contracts import SupplyStep

    class FlatPpa:
        """The grid at a flat intensity, with a share of every step covered by a contract."""

        def __init__(self, options, start, duration_s, step_s, weather):
            self.share = options["share"]
            self.g_per_j = options["carbon_g_per_kwh"] / 3.6e6

        def background_energy_j(self, t0, t1):
            return 0.0

        def step(self, t0, t1, demand_w):
            grid = demand_w * (1 - self.share)
            return SupplyStep(flows_w={"grid_import_w": grid, "renewable_used_w": demand_w - grid},
                              carbon_g_per_s=grid * self.g_per_j, cost_per_s=0.0,
                              state={"renewable_to_load_w": demand_w - grid})

        def config(self):
            return {"model": "flat-ppa", "share": self.share}
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_cooling.py").write_text(COOLING_MODULE)
    (tmp_path / "my_supply.py").write_text(SUPPLY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_cooling"
    sys.modules.pop("my_cooling", None)
    sys.modules.pop("my_supply", None)


def test_a_user_cooling_model_runs_and_books_its_parts(user_module):
    doc = tiny_scenario(cooling={"model": f"{user_module}:FixedCop", "options": {"cop": 5.0}},
                        workload={"jobs": [{"accelerators": 8, "flops": 1e19}]})
    r = simulate(load_scenario(doc))
    # cooling = IT / COP exactly, so PUE = 1 + 1/5 (the model's own definition, by hand)
    assert r.summary["pue"] == pytest.approx(1.2, rel=1e-9)
    assert r.summary["cooling_energy_kwh"] == pytest.approx(r.summary["it_energy_kwh"] / 5.0, rel=1e-9)
    assert r.manifest["components"]["cooling"] == {"model": "fixed-cop", "cop": 5.0}


def test_a_missing_user_model_is_a_scenario_error_naming_the_key():
    with pytest.raises(ScenarioError, match=r"cooling.model: .no_such_module:Model. is not allowed: .*module .no_such_module. cannot be imported"):
        load_scenario(tiny_scenario(cooling={"model": "no_such_module:Model"}))
    with pytest.raises(ScenarioError, match="cooling.model: 'fridge' is not allowed: give 'constant-pue', 'plant' or a 'package.module:Class'"):
        load_scenario(tiny_scenario(cooling={"model": "fridge"}))


def test_import_object_says_what_is_wrong():
    assert import_object("math:sqrt")(4.0) == 2.0
    with pytest.raises(ValueError, match="has no 'nope'"):
        import_object("math:nope")
    with pytest.raises(ValueError, match="is not of the form 'package.module:Name'"):
        import_object("math.sqrt")


def test_a_user_supply_model_serves_the_demand(user_module):
    doc = tiny_scenario(supply={"model": "my_supply:FlatPpa",
                                "options": {"share": 0.25, "carbon_g_per_kwh": 400}},
                        workload={"jobs": [{"accelerators": 8, "flops": 1e19}]})
    r = simulate(load_scenario(doc))
    s = r.summary
    # 3/4 of the facility energy from the grid at 400 g/kWh, 1/4 renewable (by hand)
    assert s["grid_import_kwh"] == pytest.approx(0.75 * s["facility_energy_kwh"], rel=1e-9)
    assert s["carbon_kg"] == pytest.approx(0.75 * s["facility_energy_kwh"] * 0.4, rel=1e-9)
    assert s["renewable_share_onsite"] == pytest.approx(0.25, rel=1e-9)
    # the model does not tell the grid's own mix: the location-based share is unknown, not 0
    assert math.isnan(s["renewable_share"])
    with pytest.raises(ScenarioError, match=r"supply.model: .*has no 'Nope'"):
        load_scenario(tiny_scenario(supply={"model": "my_supply:Nope"}))
