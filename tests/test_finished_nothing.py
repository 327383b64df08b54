"""Runs that finished nothing (0 jobs completed) are shown, never silently dropped (issue 15).

Such a run has no completion time (`mean_jct_s`, `makespan_s` are NaN): the
sweep figures used to average it away or not draw it, and a metric no run
had was left out of the report altogether. Now the figures mark it × and
count it in their title, and the reports name it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import analysis.figures as F
from analysis.report import run_report_html, sweep_report_html
from sim import load_scenario, simulate


def _sweep(all_nothing: bool = False) -> pd.DataFrame:
    """fifo and sjf on 2 and 4 nodes; the fifo run on 2 nodes completed none of its 5 jobs."""
    rows = []
    for q in ("fifo", "sjf"):
        for n in (2, 4):
            nothing = all_nothing or (q == "fifo" and n == 2)
            rows.append({"run_id": f"{q}-{n}", "cluster.nodes": n, "scheduler.queue": q, "seed": 1,
                         "facility_energy_kwh": 10.0 * n, "carbon_kg": 2.0 * n,
                         "jobs_submitted": 5, "jobs_completed": 0 if nothing else 5,
                         "jobs_unfinished": 5 if nothing else 0, "jobs_waiting_at_end": 4 if nothing else 0,
                         "mean_jct_s": math.nan if nothing else 3600.0 / n,
                         "makespan_s": math.nan if nothing else 7200.0 / n, "status": "ok", "error": None})
    rows.append({"run_id": "bad", "cluster.nodes": 8, "scheduler.queue": "fifo", "seed": 1,
                 "status": "failed", "error": "boom"})
    return pd.DataFrame(rows)


def test_finished_nothing_picks_the_ok_runs_with_no_job_completed():
    assert F.finished_nothing(_sweep())["run_id"].tolist() == ["fifo-2"]
    serving = pd.DataFrame([{"run_id": "s", "jobs_submitted": 0, "jobs_completed": 0, "status": "ok"}])
    assert F.finished_nothing(serving).empty  # no job at all is not "finished nothing"


def test_the_response_figure_marks_a_run_that_finished_nothing():
    fig = F.sweep_response(_sweep(), "mean_jct_s", "cluster.nodes")
    ax = fig.axes[0]
    fifo = next(line for line in ax.lines if line.get_label() == "scheduler.queue=fifo")
    # fifo's line has a value only at 4 nodes; at 2 nodes it has a gap, and the run there is a ×
    np.testing.assert_allclose(fifo.get_ydata(), [np.nan, 3600.0 / 4])
    marks = [c for c in ax.collections if c.get_label() == "scheduler.queue=fifo: no value (1)"]
    assert len(marks) == 1 and marks[0].get_offsets()[:, 0].tolist() == [2.0]
    assert ("1 run without a value (1 finished nothing: 0 jobs completed), marked ×; 1 failed run left out"
            in ax.get_title())


def test_the_pareto_front_counts_and_marks_a_run_without_a_time():
    # drawn: sjf-2 (20 kWh, 3,600 s), fifo-4 and sjf-4 (40 kWh, 1,800 s): sjf-2 and one of the tied pair
    # are on the front
    ax = F.pareto_front(_sweep()).axes[0]
    assert ax.get_title() == ("2 of 3 runs on the front; 1 run without a value of facility_energy_kwh or "
                              "makespan_s (1 finished nothing: 0 jobs completed), marked ×; 1 failed run left out")
    marks = [c for c in ax.collections if c.get_label() == "no makespan_s (1)"]
    assert marks[0].get_offsets()[:, 0].tolist() == [20.0]  # at its energy, 10 x 2 nodes


def test_a_metric_only_missing_because_runs_finished_nothing_still_gets_its_figure():
    figs = F.sweep_figures(_sweep(all_nothing=True))
    assert "mean_jct_s vs cluster.nodes" in figs  # was left out: no run had a value
    assert "4 runs without a value (4 finished nothing" in figs["mean_jct_s vs cluster.nodes"].axes[0].get_title()
    assert "no run has both" in " ".join(t.get_text() for t in figs["pareto_front"].axes[0].texts)


def test_the_sweep_report_lists_the_runs_that_finished_nothing():
    text = sweep_report_html(_sweep())
    assert "1 run finished nothing (0 jobs completed)" in text
    section = text.split('<section id="nothing">')[1].split("</section>")[0]
    assert "fifo-2" in section and "sjf-2" not in section and "bad" not in section
    assert "<th>jobs_completed</th>" in text.split('<section id="runs">')[1].split("</section>")[0]


@pytest.fixture(scope="module")
def idle_run():
    """One 10 h job on a 2 h run: it never completes."""
    doc = {"name": "nothing", "duration": "2h", "cluster": {"nodes": 1, "node_type": "dgx-h100"},
           "workload": {"jobs": [{"name": "long", "submit": 0, "accelerators": 8, "duration": "10h"},
                                 {"name": "waits", "submit": 0, "accelerators": 8, "duration": "1h"}]},
           "plant": {"step": "300s"}, "output": {"interval": "1h"}}
    return simulate(load_scenario(doc))


def test_the_run_report_says_the_run_finished_nothing(idle_run):
    assert idle_run.summary["jobs_completed"] == 0
    text = run_report_html(idle_run)
    assert ("This run finished nothing: 0 of 2 jobs completed (1 still waiting, 1 still running), so the "
            "completion-time metrics (mean_jct_s, makespan_s, ...) have no value") in text
