"""Trace readers (sim.workload.traces): bundled real files, every layout, malformed input.

Facts about the bundled Philly file come from data/README.md (counted
on the Pollux/AdaptDL copy of the Jeon et al. ATC'19 trace): 82,247 jobs, 93%
single-GPU, median duration 1,144 s, largest job 128 GPUs, 15 virtual clusters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.spec.scenario import ScenarioError, load_scenario
from sim.spec.traces import TraceConfig, TraceError, TraceFilter
from sim.workload.traces import _submit_order, apply_filter, load_trace, read_trace


@pytest.fixture(scope="module")
def philly():
    return read_trace("philly")


def test_philly_bundled_matches_published_facts(philly):
    assert len(philly) == 82247
    assert (philly["accelerators"] == 1).mean() == pytest.approx(0.93, abs=0.005)
    assert philly["duration_s"].median() == 1144.0
    assert philly["accelerators"].max() == 128
    assert philly["cluster"].nunique() == 15
    assert philly["submit_s"].min() == 0.0
    assert str(philly.attrs["origin"]) == "2017-09-04 10:30:41+00:00"


def test_alibaba_2023_bundled_pods_have_fractional_gpus():
    df = read_trace("openb")
    assert len(df) == 8152  # every pod (Weng et al. ATC'23 openb_pod_list_default)
    gpu = df[df["accelerators"] > 0]
    assert ((gpu["gpu_fraction"] > 0) & (gpu["gpu_fraction"] <= 1)).all()
    assert (gpu["gpu_fraction"] < 1).mean() > 0.3  # many pods share a GPU (gpu_milli < 1000)
    assert (df["state"] == "Pending").sum() == 897  # never scheduled -> no run time
    assert (df.loc[df["state"] == "Pending", "duration_s"] == 0).all()


def test_filter_window_cluster_size_duration_and_time_scale(philly):
    f = TraceFilter(cluster="0e4a51", start="2017-10-01", end="2017-11-01", min_duration=60, max_accelerators=2)
    out = apply_filter(philly, f)
    assert set(out["cluster"]) == {"0e4a51"}
    assert out["submit_s"].min() >= 0 and out["submit_s"].max() < 31 * 86400
    assert out["duration_s"].min() >= 60 and out["accelerators"].max() <= 2
    half = apply_filter(philly, f, time_scale=0.5)
    assert half["submit_s"].tolist() == pytest.approx((out["submit_s"] * 0.5).tolist())
    by_offset = apply_filter(philly, TraceFilter(start="10d", end="11d"))
    assert by_offset["submit_s"].max() < 86400


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_philly_malformed_row_names_file_and_line_or_is_counted(tmp_path):
    p = _write(tmp_path, "philly.csv", "timestamp,duration,num_gpus,gpu_time,cluster\n"
               "2017-10-09 07:01:55,66.0,1,66.0,a\n"
               "2017-10-09 07:02:00,abc,1,1,a\n"
               "not-a-time,10,1,10,a\n")
    with pytest.raises(TraceError, match=r"philly.csv:3: malformed row: duration='abc'"):
        read_trace(p, "philly")
    df = read_trace(p, "philly", skip_malformed=True)
    assert len(df) == 1 and df.attrs["skipped"] == 2


def test_philly_numbers_read_fast_are_checked_like_strings(tmp_path):
    """The reader parses duration and num_gpus itself; a negative or missing one still names its line."""
    head = "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.5,2,133.0,a\n"
    ok = read_trace(_write(tmp_path, "ok.csv", head), "philly")
    assert ok["duration_s"].tolist() == [66.5] and ok["accelerators"].tolist() == [2]
    neg = _write(tmp_path, "neg.csv", head + "2017-10-09 07:02:00,10,-1,1,a\n")
    with pytest.raises(TraceError, match=r"neg.csv:3: malformed row: num_gpus='-1'"):
        read_trace(neg, "philly")
    empty = _write(tmp_path, "empty.csv", head + "2017-10-09 07:02:00,,1,1,a\n")
    with pytest.raises(TraceError, match=r"empty.csv:3: malformed row: duration=nan"):
        read_trace(empty, "philly")


def test_a_trace_read_again_is_the_file_as_it_is_now(tmp_path):
    """Tables are cached per process by file identity: a changed file is read again, and a caller's
    changes to its table never reach the next caller."""
    head = "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.0,1,66.0,a\n"
    p = _write(tmp_path, "philly.csv", head)
    first = read_trace(p, "philly")
    first.loc[0, "duration_s"] = -1.0
    first.attrs["skipped"] = 99
    again = read_trace(p, "philly")
    assert again["duration_s"].tolist() == [66.0] and again.attrs["skipped"] == 0
    p.write_text(head + "2017-10-09 07:02:00,10.0,2,20.0,b\n")  # one row more: another size
    assert read_trace(p, "philly")["duration_s"].tolist() == [66.0, 10.0]


def test_philly_json_layout(tmp_path):
    jobs = [
        {"jobid": "application_1", "vc": "vc1", "user": "u1", "status": "Pass",
         "submitted_time": "2017-10-03 08:00:00",
         "attempts": [{"start_time": "2017-10-03 08:01:00", "end_time": "2017-10-03 08:11:00",
                       "detail": [{"ip": "m1", "gpus": ["gpu0", "gpu1"]}]},
                      {"start_time": "2017-10-03 09:00:00", "end_time": "2017-10-03 09:05:00",
                       "detail": [{"ip": "m2", "gpus": ["gpu0", "gpu1"]}]}]},
        {"jobid": "application_2", "vc": "vc2", "user": "u2", "status": "Killed",
         "submitted_time": "2017-10-03 08:30:00", "attempts": []},
    ]
    p = _write(tmp_path, "cluster_job_log.json", json.dumps(jobs))
    df = read_trace(p)
    assert df["duration_s"].tolist() == [900.0, 0.0]  # 10 min + 5 min over two attempts
    assert df["accelerators"].tolist() == [2, 0]
    assert df["submit_s"].tolist() == [0.0, 1800.0]
    assert df["cluster"].tolist() == ["vc1", "vc2"]
    bad = _write(tmp_path, "bad.json", json.dumps([{"jobid": "x", "attempts": []}]))
    with pytest.raises(TraceError, match=r"bad.json: job #1 \(jobid x\)"):
        read_trace(bad)


def test_alibaba_pai_2020_task_table_with_job_table(tmp_path):
    _write(tmp_path, "pai_job_table.csv", "j1,i1,alice,Terminated,100,700\nj2,i2,bob,Terminated,200,400\n")
    p = _write(tmp_path, "pai_task_table.csv",
               "j1,worker,4,Terminated,100,700,600,29.3,50,V100\n"
               "j2,worker,1,Terminated,200,400,600,29.3,100,P100\n"
               "j2,ps,1,Terminated,200,400,600,29.3,,\n")
    df = read_trace(p)
    w = df.set_index("job_id")
    assert w.loc["j1/worker", "accelerators"] == 2 and w.loc["j1/worker", "gpu_fraction"] == 1.0  # 4 x 50%
    assert w.loc["j1/worker", "duration_s"] == 600 and w.loc["j1/worker", "user"] == "alice"
    assert w.loc["j2/ps", "accelerators"] == 0
    bad = _write(tmp_path / "..", "pai_task_bad.csv", "j1,worker,1,Terminated,700,100,600,29.3,100,V100\n")
    with pytest.raises(TraceError, match=r"pai_task_bad.csv:1: malformed row: end_time before start_time"):
        read_trace(bad, "alibaba-pai-2020")


def test_helios_cluster_log(tmp_path):
    p = _write(tmp_path, "cluster_log.csv",
               "job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration\n"
               "1,u1,vcA,8,16,1,COMPLETED,2020-04-01 00:00:00,2020-04-01 00:01:00,2020-04-01 01:01:00,3600\n"
               "2,u2,vcB,1,2,1,FAILED,2020-04-01 00:10:00,2020-04-01 00:10:00,2020-04-01 00:20:00,600\n"
               "3,u3,vcB,x,2,1,FAILED,2020-04-01 00:10:00,2020-04-01 00:10:00,2020-04-01 00:20:00,600\n")
    with pytest.raises(TraceError, match=r"cluster_log.csv:4: malformed row: gpu_num='x'"):
        read_trace(p)
    df = read_trace(p, skip_malformed=True)
    assert df["accelerators"].tolist() == [8, 1] and df["submit_s"].tolist() == [0.0, 600.0]
    assert df["cluster"].tolist() == ["vcA", "vcB"] and df.attrs["skipped"] == 1


def test_swf_parallel_workloads_archive(tmp_path):
    p = _write(tmp_path, "log.swf",
               "; Version: 2.2\n; Computer: test\n"
               "1 0 5 3600 64 -1 -1 64 7200 -1 1 7 1 -1 2 -1 -1 -1\n"
               "2 100 0 60 -1 -1 -1 8 100 -1 1 8 1 -1 2 -1 -1 -1\n"
               "3 200 0 -1 8 -1 -1 8 100 -1 0 8 1 -1 2 -1 -1 -1\n")
    with pytest.raises(TraceError, match=r"log.swf:5: malformed row: unknown run time"):
        read_trace(p)
    df = read_trace(p, skip_malformed=True, processors_per_accelerator=8)
    assert df["accelerators"].tolist() == [8, 1]  # 64 procs / 8; requested 8 when allocated is -1
    assert df["duration_s"].tolist() == [3600.0, 60.0] and df["cluster"].tolist() == ["2", "2"]


def test_generic_csv_with_mapping(tmp_path):
    p = _write(tmp_path, "jobs.csv", "id,t,run_h,g,team\na,2021-01-01 00:00,1.5,4,x\nb,2021-01-01 01:00,0.5,0.5,y\n")
    df = read_trace(p, "csv", mapping={"job_id": "id", "submit": "t", "duration": "run_h", "accelerators": "g",
                                       "cluster": "team"}, time_unit_s=3600)
    assert df["duration_s"].tolist() == [5400.0, 1800.0]
    assert df["accelerators"].tolist() == [4, 1] and df["submit_s"].tolist() == [0.0, 3600.0]
    with pytest.raises(ValueError, match="needs mapping for: accelerators"):
        TraceConfig(path=str(p), format="csv", mapping={"submit": "t", "duration": "run_h"})


def test_missing_trace_is_a_scenario_error_naming_the_field(tmp_path):
    doc = {"workload": {"trace": {"path": "no/such/trace.csv", "format": "philly"}}}
    with pytest.raises(ScenarioError, match=r"workload\.trace\.path: .*no/such/trace\.csv.* not found"):
        load_scenario(doc)


def test_relative_path_resolves_against_the_scenario_folder(tmp_path):
    (tmp_path / "t").mkdir()
    _write(tmp_path / "t", "mine.csv", "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66,1,66,a\n")
    sc = _write(tmp_path, "s.yaml", "workload:\n  trace: {path: t/mine.csv, format: philly}\n")
    s = load_scenario(sc)
    assert len(load_trace(s.workload.trace)) == 1


def test_numeric_looking_cluster_must_be_quoted():
    with pytest.raises(ScenarioError, match="quote it"):
        load_scenario({"workload": {"trace": {"path": "philly", "filter": {"cluster": 6214e9}}}})


def test_rows_are_ordered_by_submit_time_then_id_as_pandas_sorts_them():
    # the readers' order (Arrow's stable sort) is pandas' sort_values(["submit_s", "job_id"],
    # kind="stable"): ids compared as text ("10" < "9", "Z" < "a" < "z" < "é"), equal keys kept in
    # file order, -0.0 equal to 0.0, NaN times and missing ids last
    df = pd.DataFrame({
        "submit_s": [5.0, 0.0, 5.0, -0.0, 5.0, np.nan, 5.0, 1.0, 5.0, 5.0, 5.0],
        "job_id": pd.array(["9", "a", "10", "b", "é", "x", "Z", None, "z", "9", None], dtype="str"),
    })
    expected = df.sort_values(["submit_s", "job_id"], kind="stable").index.to_numpy()
    assert expected.tolist() == [1, 3, 7, 2, 0, 9, 6, 8, 4, 10, 5]
    assert _submit_order(df).tolist() == expected.tolist()
