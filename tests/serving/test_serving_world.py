"""Serving inside the World: one ledger with the facility, the run folder, bad input, until-done."""

from __future__ import annotations

import pytest
from wattsim_testing import tiny_scenario

from sim import Result, ScenarioError, load_scenario, simulate
from sim.results import serving as serving_results
from sim.results.result import columns_markdown
from sim.serving.requests import read_trace

SERVING = {"model": "llama-3.1-70b", "node_type": "dgx-h100", "replicas": 2, "tensor_parallel": 4,
           "requests": {"trace": "azure-conv", "time_scale": 1.0}}


def _doc(**serving):
    doc = tiny_scenario(duration="20min")
    doc["cluster"] = {"nodes": 1, "node_type": "dgx-h100"}
    doc["workload"] = {"jobs": []}
    doc["cooling"] = {"model": "constant-pue", "pue": 1.25}
    doc["plant"] = {"step": 60}
    doc["output"] = {"interval": 300}
    doc["serving"] = {**SERVING, **serving}
    return doc


@pytest.fixture(scope="module")
def run():
    return simulate(load_scenario(_doc()))


def test_serving_power_goes_through_the_facility_ledger(run):
    s = run.summary
    # IT = the serving deployment (accelerators + hosts) + the idle training node (8 x 70 W + 1,300 W)
    idle_node_kwh = (8 * 70.0 + 1300.0) * 1200.0 / 3.6e6
    serving_it = s["serving_comprehensive_kwh"] - s["serving_overhead_kwh"]
    assert s["it_energy_kwh"] == pytest.approx(serving_it + idle_node_kwh, rel=1e-9)
    assert s["facility_energy_kwh"] == pytest.approx(1.25 * s["it_energy_kwh"], rel=1e-9)  # constant PUE
    assert s["serving_share_overhead"] == pytest.approx(0.25 / 1.25, rel=1e-9)  # the run's own PUE
    assert s["carbon_kg"] > 0
    assert s["serving_requests"] == len(read_trace("azure-conv").until(1200.0)) == 5985  # the trace's first 20 min


def test_serving_bins_join_the_time_series_and_match_the_summary(run):
    ts = run.timeseries
    assert len(ts) == 4
    # accelerator + host power of the deployment, integrated over the bins = its IT energy
    it_j = ((ts["serving_accelerator_w"] + ts["serving_host_w"]) * 300.0).sum()
    s = run.summary
    assert it_j / 3.6e6 == pytest.approx(s["serving_comprehensive_kwh"] - s["serving_overhead_kwh"], rel=1e-9)
    assert (ts["serving_replicas_on"] == 2.0).all()
    # arrivals per bin add up to the requests that arrived
    assert (ts["serving_arrivals_per_s"] * 300.0).sum() == pytest.approx(s["serving_requests"])


def test_the_run_folder_keeps_the_requests_table(run, tmp_path):
    run.to_dir(tmp_path / "r")
    back = Result.from_dir(tmp_path / "r")
    assert list(back.requests.columns) == list(serving_results.REQUEST_COLUMNS)
    assert len(back.requests) == run.summary["serving_requests"]
    assert back.summary["serving_ttft_p99_s"] == pytest.approx(run.summary["serving_ttft_p99_s"])


def test_every_serving_column_and_key_is_documented_with_its_unit(run):
    assert list(run.requests.columns) == list(serving_results.REQUEST_COLUMNS)
    serving_cols = [c for c in run.timeseries.columns if c.startswith("serving_")]
    assert serving_cols == [f"serving_{c}" for c in serving_results.BIN_COLUMNS]
    assert [k for k in run.summary if k.startswith("serving_")] == list(serving_results.SUMMARY_KEYS)
    page = columns_markdown()
    assert "requests.parquet" in page and "`serving_energy_per_request_comprehensive_wh` | Wh" in page


def test_until_done_waits_for_the_last_request(tmp_path):
    f = tmp_path / "few.csv"
    f.write_text("arrival_s,prompt_tokens,output_tokens\n" + "".join(f"{10 * i},500,400\n" for i in range(20)))
    doc = _doc(requests={"trace": str(f)})
    doc["duration"] = "until-done"
    doc["max_duration"] = "1d"
    r = simulate(load_scenario(doc))
    assert r.summary["serving_requests"] == 20 and r.summary["serving_requests_unfinished"] == 0
    last_end = r.requests["end_s"].max()
    assert r.summary["simulated_s"] == pytest.approx(last_end)  # not the 1 d cap
    assert 190.0 < last_end < 300.0  # last arrival at 190 s, 400 tokens at ~13 ms


@pytest.mark.parametrize("serving,message", [
    ({"model": "llama-9b"}, r"^serving\.model: 'llama-9b' is not a known serving model; known: "),
    ({"model": "llama-2-70b"}, r"^serving\.requests\.trace\[\d+\]: prompt \d+ \+ output \d+ = \d+ tokens is not "
                               r"allowed: longer than the context window of llama-2-70b \(4096 tokens"),
    ({"model": "llama-3.1-405b", "tensor_parallel": 8}, r"^serving\.tensor_parallel: 8 is not allowed: "
                                                        r"llama-3\.1-405b needs 811\.8 GB of weights"),
    ({"requests": {"trace": "no-such.csv"}}, r"^serving\.requests\.trace: 'no-such\.csv' is not a file"),
])
def test_bad_serving_input_is_one_line_with_the_dotted_path(serving, message):
    with pytest.raises(ScenarioError, match=message) as err:
        simulate(load_scenario(_doc(**serving)))
    assert "\n" not in str(err.value)


def test_bad_serving_keys_are_refused_at_validation():
    with pytest.raises(ScenarioError, match=r"serving\.replicas: 0 is not allowed"):
        load_scenario(_doc(replicas=0))
    with pytest.raises(ScenarioError, match=r"serving\.requests\.generator\.rate_per_s"):
        load_scenario(_doc(requests={"generator": {"rate_per_s": -1}}))
