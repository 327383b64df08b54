"""Tests of analysis/: loading runs and sweeps, and every standard figure on real small runs.

Two runs are simulated once for the module (12 h, 3 nodes, plant step 300 s):
one with PV, wind, a battery and the physical cooling plant (every optional
column present), one grid-only with a constant PUE (none of them). Every
figure must draw on both without raising, label every axis with a unit in
parentheses, and hold data in every axis of the full run.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import analysis
import analysis.figures as F
from sim import load_scenario, simulate

JOBS = [{"name": "a", "submit": 0, "accelerators": 8, "duration": "3h"},
        {"name": "b", "submit": "1h", "accelerators": 16, "duration": "2h"}]
FULL = {"name": "full", "start": "2020-06-01T00:00:00Z", "duration": "12h", "seed": 1,
        "cluster": {"nodes": 3, "node_type": "dgx-h100"},
        "workload": {"jobs": JOBS, "generator": {"kind": "poisson", "rate_per_hour": 1, "mean_duration": "1h"}},
        "cooling": {"model": "plant"},
        "supply": {"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 30}, "battery": {"capacity_kwh": 50, "power_kw": 20}},
        "plant": {"step": "300s"}, "output": {"interval": "30min"}}
GRID = {"name": "grid-only", "duration": "6h", "cluster": {"nodes": 2, "node_type": "dgx-h100"},
        "workload": {"jobs": JOBS}, "plant": {"step": "300s"}, "output": {"interval": "30min"}}
UNIT = re.compile(r"\(.+\)")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for doc in (FULL, GRID):
        out[doc["name"]] = simulate(load_scenario(doc)).to_dir(base / doc["name"])
    return out


def _data_axes(fig: Figure) -> list:
    """The main axes (not colorbars) of a figure."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _has_data(ax) -> bool:
    if ax.lines and any(len(line.get_xdata()) for line in ax.lines):
        return True
    if ax.collections and any(getattr(c, "get_offsets", lambda: [])() is not None for c in ax.collections):
        return True
    return bool(ax.patches or ax.images)


def _assert_labelled(fig: Figure) -> None:
    for ax in fig.axes:
        shared_hidden = not any(t.get_visible() and t.get_text() for t in ax.get_xticklabels())
        if ax.get_label() == "<colorbar>":
            assert UNIT.search(ax.get_ylabel() or ax.get_xlabel()), "colorbar without a unit"
            continue
        assert UNIT.search(ax.get_ylabel()), f"y axis without a unit: {ax.get_ylabel()!r}"
        # the upper panel of a shared x axis carries no x label: its lower panel does
        if ax.get_xlabel() or not shared_hidden:
            xl = ax.get_xlabel() or next((a.get_xlabel() for a in fig.axes if a.get_shared_x_axes().joined(a, ax)
                                          and a.get_xlabel()), "")
            assert UNIT.search(xl), f"x axis without a unit: {xl!r}"


def test_load_adds_hour_columns_and_keeps_units(runs):
    run = analysis.load(runs["full"])
    assert run.name == "full"
    assert {"time", "elapsed_h", "facility_power_w"} <= set(run.timeseries)
    assert run.timeseries["elapsed_h"].iloc[0] == 0.0
    assert run.timeseries["elapsed_h"].iloc[1] == pytest.approx(0.5)  # 30 min bins
    job_a = run.jobs.set_index("name").loc["a"]
    assert job_a["start_h"] == 0.0 and job_a["end_h"] == pytest.approx(3.0)  # 3 h duration, free cluster
    assert run.simulated_s == 12 * 3600
    table = run.summary_table()
    assert table.set_index("key").loc["facility_energy_kwh", "unit"] == "kWh"


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run folder: missing summary.json"):
        analysis.load(tmp_path)


@pytest.mark.parametrize("name", list(F.RUN_FIGURES))
def test_each_figure_on_a_full_run_has_units_and_data(runs, name):
    run = analysis.load(runs["full"])
    assert F.missing(run, name) is None
    fig = F.RUN_FIGURES[name](run)
    assert isinstance(fig, Figure)
    _assert_labelled(fig)
    for ax in _data_axes(fig):
        assert _has_data(ax), f"{name}: an empty axis ({ax.get_ylabel()})"


@pytest.mark.parametrize("name", list(F.RUN_FIGURES))
def test_each_figure_on_a_grid_only_run_draws_or_notes(runs, name):
    run = analysis.load(runs["grid-only"])
    fig = F.RUN_FIGURES[name](run)
    _assert_labelled(fig)
    reason = F.missing(run, name)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    if name == "temperatures":
        assert reason and "constant-PUE" in reason
        assert "no temperature readings" in texts
    else:
        assert reason is None
    if name == "supply_vs_demand":
        assert "grid only" in texts


def test_figures_accept_a_path_and_a_result(runs):
    result = simulate(load_scenario(GRID))
    assert isinstance(F.power_by_component(runs["grid-only"]), Figure)
    assert isinstance(F.power_by_component(result), Figure)


def test_node_utilization_from_placement_is_exact():
    # one 8-GPU node busy 0..0.5 h with all 8 accelerators, 1 h bins: 50 % in bin 0, 0 in bin 1
    ts = pd.DataFrame({"time": pd.date_range("2020-06-01", periods=2, freq="1h", tz="UTC"),
                       "busy_accelerators": [4.0, 0.0]})
    jobs = pd.DataFrame({"name": ["j"], "accelerators": [8], "submit_s": [0.0], "start_s": [0.0],
                         "end_s": [1800.0], "state": ["completed"], "nodes": [["n0"]]})
    nodes = pd.DataFrame({"node": ["n0", "n1"], "accelerators": [8, 8], "utilization": [0.25, 0.0]})
    run = analysis.from_tables({"name": "hand", "simulated_s": 7200.0}, ts, jobs, nodes)
    frame, source = F.node_utilization(run)
    assert source == "node placement in the jobs table"
    np.testing.assert_allclose(frame.loc["n0"].to_numpy(), [0.5, 0.0])
    np.testing.assert_allclose(frame.loc["n1"].to_numpy(), [0.0, 0.0])
    fig = F.utilization_heatmap(run)
    assert fig.axes[0].get_ylabel() == "node (name)"
    gantt = F.job_timeline(run)
    assert gantt.axes[0].get_ylabel() == "node (name)"


def test_node_utilization_from_per_node_columns():
    ts = pd.DataFrame({"time": pd.date_range("2020-06-01", periods=2, freq="1h", tz="UTC"),
                       "n0:busy_accelerators": [8.0, 2.0], "n1:utilization": [0.1, 0.2]})
    nodes = pd.DataFrame({"node": ["n0", "n1"], "accelerators": [8, 8]})
    run = analysis.from_tables({"simulated_s": 7200.0}, ts, pd.DataFrame(), nodes)
    frame, source = F.node_utilization(run)
    assert source == "per-node time-series columns"
    np.testing.assert_allclose(frame.loc["n0"].to_numpy(), [1.0, 0.25])
    np.testing.assert_allclose(frame.loc["n1"].to_numpy(), [0.1, 0.2])


def test_pareto_mask_by_hand():
    # (1,5) (2,3) (3,4) (4,1) (2,6): (3,4) is beaten by (2,3); (2,6) by (1,5)
    mask = F.pareto_mask(np.array([1, 2, 3, 4, 2]), np.array([5, 3, 4, 1, 6]))
    assert mask.tolist() == [True, True, False, True, False]


@pytest.fixture(scope="module")
def sweep_table() -> pd.DataFrame:
    """A hand-made sweep table: 2 policies x 3 sizes x 2 seeds, one failed row."""
    rows = []
    for policy, factor in (("fifo", 1.0), ("sjf", 0.8)):
        for nodes in (2, 4, 8):
            for seed in (1, 2):
                rows.append({"run_id": f"{policy}-{nodes}-{seed}", "cluster.nodes": nodes,
                             "scheduler.queue": policy, "seed": seed,
                             "facility_energy_kwh": 10.0 * nodes + seed,
                             "mean_jct_s": factor * 3600.0 / nodes * (1 + 0.1 * seed),
                             "makespan_s": 7200.0 / nodes, "status": "ok", "error": None})
    rows.append({"run_id": "bad", "cluster.nodes": 16, "scheduler.queue": "fifo", "seed": 1,
                 "status": "failed", "error": "boom"})
    return pd.DataFrame(rows)


def test_sweep_columns_are_split_into_parameters_and_metrics(sweep_table):
    assert analysis.sweep_parameters(sweep_table) == ["cluster.nodes", "scheduler.queue", "seed"]
    assert analysis.sweep_metrics(sweep_table) == ["facility_energy_kwh", "mean_jct_s", "makespan_s"]
    assert F.policy_column(sweep_table) == "scheduler.queue"


def test_sweep_response_draws_a_line_and_band_per_policy(sweep_table):
    fig = F.sweep_response(sweep_table, "facility_energy_kwh", "cluster.nodes")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["scheduler.queue=fifo", "scheduler.queue=sjf"]
    # mean over seeds 1 and 2: 10 n + 1.5; failed run (16 nodes) left out
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [21.5, 41.5, 81.5])
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [2, 4, 8])
    assert len(ax.collections) == 2  # one band per policy
    assert ax.get_xlabel() == "cluster.nodes (count)"
    assert ax.get_ylabel() == "facility_energy_kwh (kWh)"


def test_pareto_front_figure(sweep_table):
    fig = F.pareto_front(sweep_table)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "facility_energy_kwh (kWh)" and ax.get_ylabel() == "makespan_s (s)"
    assert any(line.get_label() == "Pareto front" for line in ax.lines)


def test_latency_vs_energy_of_a_serving_sweep():
    """Batch limits 8/32/128 by hand: energy per token falls, p99 TBT rises; all three are on the front,
    a fourth run beaten on both is not; the figure joins the sweep figures."""
    rows = [{"run_id": f"b{b}", "serving.max_batch": b, "serving_energy_per_output_token_comprehensive_j": e,
             "serving_tbt_p99_s": t, "serving_ttft_p99_s": t * 10, "facility_energy_kwh": 1.0, "status": "ok"}
            for b, e, t in ((8, 2.0, 0.020), (32, 1.0, 0.030), (128, 0.6, 0.060), (64, 1.2, 0.070))]
    table = pd.DataFrame(rows)
    fig = F.latency_vs_energy(table)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "serving_energy_per_output_token_comprehensive_j (J)"
    assert ax.get_ylabel() == "serving_tbt_p99_s (s)"
    assert ax.get_title() == "3 of 4 runs on the front"
    assert "latency vs energy per token (serving_tbt_p99_s)" in F.sweep_figures(table)


def test_load_sweep_reads_tables_and_run_folders(tmp_path, sweep_table, runs):
    sweep_table.to_parquet(tmp_path / "t.parquet")
    sweep_table.drop(columns=["status"]).to_csv(tmp_path / "t.csv", index=False)
    assert len(analysis.load_sweep(tmp_path / "t.parquet")) == 13
    assert (analysis.load_sweep(tmp_path / "t.csv")["status"] == "ok").all()
    # a folder of run folders: the scenario values that differ become columns
    table = analysis.collect_runs([runs["full"], runs["grid-only"]])
    assert "cluster.nodes" in table and sorted(table["cluster.nodes"]) == [2, 3]
    assert "facility_energy_kwh" in table and (table["status"] == "ok").all()
    with pytest.raises(FileNotFoundError):
        analysis.load_sweep(tmp_path / "nothing-here")


def test_load_sweep_reads_a_wattsim_sweep_folder(tmp_path):
    from sim.sweep.execute import run_sweep

    definition = {"name": "t", "base": {**GRID, "duration": "2h"},
                  "grid": {"cluster.nodes": [2, 3]}, "replicates": 2}
    run_sweep(definition, tmp_path / "sw", workers=1, progress=False)
    table = analysis.load_sweep(tmp_path / "sw")
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert {"cluster.nodes", "seed"} <= set(analysis.sweep_parameters(table))
    figs = F.sweep_figures(table)
    assert "pareto_front" in figs and "facility_energy_kwh vs cluster.nodes" in figs


def test_sim_never_imports_analysis():
    sim_dir = Path(__file__).resolve().parents[1] / "sim"
    offenders = [str(p) for p in sim_dir.rglob("*.py")
                 if re.search(r"^\s*(import analysis|from analysis)", p.read_text(), re.M)]
    assert offenders == []


def test_a_whole_section_axis_is_a_swept_parameter_and_gets_its_own_lines():
    # `cooling` swept with labels (no dot in the column) next to `cooling.weather`
    from analysis.figures import sweep_figures

    df = pd.DataFrame({
        "run_id": list("abcd"), "cooling": ["air", "air", "liquid", "liquid"],
        "cooling.weather": ["miami", "alaska"] * 2, "seed": [1] * 4,
        "facility_energy_kwh": [10.0, 8.0, 7.0, 6.5], "mean_jct_s": [1.0] * 4, "carbon_kg": [4.0, 3.0, 2.0, 1.5],
        "makespan_s": [5.0] * 4, "status": ["ok"] * 4,
    })
    assert analysis.sweep_parameters(df) == ["cooling", "cooling.weather", "seed"]
    figs = sweep_figures(df)
    # the categorical axis that is not the policy is the x axis; a line per cooling variant
    assert "facility_energy_kwh vs cooling.weather" in figs
    ax = figs["facility_energy_kwh vs cooling.weather"].axes[0]
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"cooling=air", "cooling=liquid"}
