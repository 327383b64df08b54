"""Dispatch, Control and PowerModel: registered built-ins, a user's class by 'package.module:Class'."""

import math
import sys
import textwrap

import pytest
from wattsim_testing import tiny_scenario

from sim import ScenarioError, load_scenario, simulate
from sim.catalog import load_catalog
from sim.compute.node import POWER_MODELS, PowerModel, make_power_model
from sim.facility.dispatch import DISPATCH_POLICIES, Dispatch
from sim.scheduling import CONTROLS
from sim.units import J_PER_KWH

H100 = load_catalog().accelerator("h100")
DGX = load_catalog().node_type("dgx-h100")
ONE_HOUR_FLOPS = 8 * H100.peak_flops * H100.default_mfu * 3600.0  # 8 H100s for exactly 1 h

USER_MODULE = textwrap.dedent('''
    class GridCharge:
        """Never discharges; asks the grid for charge_kw every step (0: the battery only holds)."""

        def __init__(self, charge_kw=0.0):
            self.charge_w = charge_kw * 1e3

        def decide(self, s):
            return self.charge_w, 0.0


    class HoldOneHour:
        """Every job waits one hour after it is submitted."""

        def __init__(self, options, context):
            self.ctx = context
            self.hold_s = options.get("hold_s", 3600.0)

        def hold_until(self, job):
            return self.ctx.now_s + self.hold_s


    class HalfSpeed:
        """Half speed whatever the cap; busy power while computing."""

        def __init__(self, idle_w, busy_w):
            self.idle_w, self.busy_w = idle_w, busy_w

        @classmethod
        def of(cls, acc):
            return cls(acc.idle_w, acc.busy_w)

        def compute_power_w(self, cap_w):
            return self.busy_w

        def speed(self, cap_w, gamma=1.0):
            return 0.5

        def power_w(self, compute_share, cap_w):
            return self.idle_w + (self.busy_w - self.idle_w) * compute_share
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_nouns.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_nouns"
    sys.modules.pop("my_nouns", None)


def test_each_registry_lists_its_builtins():
    assert {"self-consumption", "peak-shaving", "carbon-aware"} <= set(DISPATCH_POLICIES)
    assert {"carbon-defer", "power-envelope"} <= set(CONTROLS)
    assert {"cube-law", "linear"} <= set(POWER_MODELS)
    assert all(callable(getattr(cls, "decide", None)) for cls in DISPATCH_POLICIES.values())
    assert isinstance(make_power_model(H100), PowerModel)
    assert isinstance(DISPATCH_POLICIES["self-consumption"](), Dispatch)


def battery_run(dispatch, options=None):
    supply = {"battery": {"capacity_kwh": 100, "power_kw": 50, "dispatch": dispatch,
                          "dispatch_options": options or {}}}
    r = simulate(load_scenario(tiny_scenario(supply=supply)))  # hourly bins
    ts = r.timeseries
    return {"discharge_kwh": ts.battery_discharge_w.sum() * 3600.0 / J_PER_KWH,
            "charge_kwh": ts.battery_charge_w.sum() * 3600.0 / J_PER_KWH,
            "soc_kwh": ts.battery_soc_kwh.iloc[-1], "grid_import_kwh": r.summary["grid_import_kwh"],
            "facility_kwh": r.summary["facility_energy_kwh"]}


def test_a_user_dispatch_that_never_discharges(user_module):
    eta = math.sqrt(0.85)  # default round trip 85 %, split evenly
    own = battery_run(f"{user_module}:GridCharge")
    assert own["discharge_kwh"] == 0.0
    assert own["charge_kwh"] == 0.0
    assert own["soc_kwh"] == pytest.approx(50.0, rel=1e-12)  # initial 50 %
    assert own["grid_import_kwh"] == pytest.approx(own["facility_kwh"], rel=1e-12)
    # options reach the class: charging from the grid fills the 50 kWh of room, drawing 50 / eta
    full = battery_run(f"{user_module}:GridCharge", {"charge_kw": 10})
    assert full["soc_kwh"] == pytest.approx(100.0, rel=1e-9)
    assert full["charge_kwh"] == pytest.approx(50.0 / eta, rel=1e-9)
    assert full["grid_import_kwh"] == pytest.approx(full["facility_kwh"] + 50.0 / eta, rel=1e-9)
    # the built-in self-consumption empties it to soc_min (10 %): 40 kWh stored, 40 x eta delivered
    builtin = battery_run("self-consumption")
    assert builtin["discharge_kwh"] == pytest.approx(40.0 * eta, rel=1e-9)
    assert builtin["grid_import_kwh"] == pytest.approx(builtin["facility_kwh"] - 40.0 * eta, rel=1e-9)


def test_a_user_control_holds_every_job_an_hour(user_module):
    doc = tiny_scenario(duration="until-done",
                        workload={"jobs": [{"accelerators": 8, "flops": ONE_HOUR_FLOPS}]},
                        scheduler={"controls": [{"kind": f"{user_module}:HoldOneHour"}]})
    r = simulate(load_scenario(doc))
    assert r.jobs.jct_s.iloc[0] == pytest.approx(2 * 3600.0, rel=1e-9)  # 1 h held + 1 h running
    doc["scheduler"]["controls"][0]["hold_s"] = 1800.0
    r = simulate(load_scenario(doc))
    assert r.jobs.jct_s.iloc[0] == pytest.approx(1.5 * 3600.0, rel=1e-9)


def test_a_user_power_model_with_a_fixed_speed(user_module):
    doc = tiny_scenario(duration="until-done", cluster={"nodes": 2, "node_type": "dgx-h100",
                                                        "power_model": f"{user_module}:HalfSpeed"},
                        workload={"jobs": [{"accelerators": 8, "flops": ONE_HOUR_FLOPS}]})
    r = simulate(load_scenario(doc))
    job = r.jobs.iloc[0]
    assert job.jct_s == pytest.approx(7200.0, rel=1e-9)  # half speed: 2 h
    busy_node_w = 8 * H100.busy_w + DGX.host_busy_w
    assert job.it_energy_kwh == pytest.approx(7200.0 * busy_node_w / J_PER_KWH, rel=1e-9)


def test_the_linear_power_model_slows_a_capped_job_more_than_the_cube_law():
    doc = tiny_scenario(duration="until-done", cluster={"nodes": 2, "node_type": "dgx-h100",
                                                        "power_model": "linear", "power_cap_w": 400},
                        workload={"jobs": [{"accelerators": 8, "flops": ONE_HOUR_FLOPS}]})
    r = simulate(load_scenario(doc))
    f = (400 - H100.idle_w) / (H100.busy_w - H100.idle_w)  # (400 - 70) / (620 - 70) = 0.6
    assert r.jobs.jct_s.iloc[0] == pytest.approx(3600.0 / f ** 0.3, rel=1e-9)  # speed f^gamma, default 0.3
    # chosen per accelerator in the catalog instead
    extra = {"accelerators": {"h100-lin": {**{k: getattr(H100, k) for k in (
        "name", "peak_flops", "tdp_w", "idle_w", "min_cap_w", "memory_bytes",
        "memory_bandwidth_bytes_per_s", "default_mfu", "busy_w")}, "power_model": "linear"}},
        "node_types": {"dgx-lin": {"name": "DGX linear", "accelerator": "h100-lin", "accelerators_per_node": 8,
                                   "host_idle_w": DGX.host_idle_w, "host_busy_w": DGX.host_busy_w,
                                   "intra_node_bandwidth_bytes_per_s": DGX.intra_node_bandwidth_bytes_per_s,
                                   "nic_bandwidth_bytes_per_s": DGX.nic_bandwidth_bytes_per_s}}}
    doc["catalog"] = extra
    doc["cluster"] = {"nodes": 2, "node_type": "dgx-lin", "power_cap_w": 400}
    r = simulate(load_scenario(doc))
    assert r.jobs.jct_s.iloc[0] == pytest.approx(3600.0 / f ** 0.3, rel=1e-9)


@pytest.mark.parametrize(("sections", "message"), [
    ({"supply": {"battery": {"dispatch": "hoard"}}},
     r"supply.battery.dispatch: 'hoard' is not allowed: not a dispatch policy; known: carbon-aware, peak-shaving"),
    ({"supply": {"battery": {"dispatch": "no_such_module:X"}}},
     r"supply.battery.dispatch: .*module 'no_such_module' cannot be imported"),
    ({"supply": {"battery": {"dispatch": "math:sqrt"}}}, r"supply.battery.dispatch: .*has no decide \(sim.facility.dispatch.Dispatch\)"),
    ({"scheduler": {"controls": [{"kind": "night-only"}]}},
     r"scheduler.controls.0.*kind: 'night-only' .*not a control; known: carbon-defer, power-envelope"),
    ({"scheduler": {"controls": [{"kind": "math:sqrt"}]}}, r"scheduler.controls.0.*kind: .*has none of hold_until, admits, after_change"),
    ({"cluster": {"nodes": 2, "power_model": "quadratic"}},
     r"cluster.power_model: 'quadratic' .*not a power model; known: cube-law, linear"),
    ({"cluster": {"nodes": 2, "power_model": "math:sqrt"}}, r"cluster.power_model: .*has no of, compute_power_w"),
    ({"scheduler": {"queue": "lifo"}}, r"scheduler.queue: 'lifo' .*not a queue policy; known: easy-backfill, fair, fifo"),
    ({"scheduler": {"placement": "math:sqrt"}}, r"scheduler.placement: .*has no place"),
    ({"cooling": {"model": "math:sqrt"}}, r"cooling\.(custom\.)?model: .*has no step, config \(sim.engine.contracts.CoolingModel\)"),
    ({"supply": {"model": "math:sqrt"}}, r"supply.model: .*has no step, config \(sim.engine.contracts.SupplyModel\)"),
])
def test_a_bad_name_is_a_scenario_error_naming_the_key(sections, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(tiny_scenario(**sections))
