"""Hostile and careless input (issue 15): every case gets one clear line, fast, never a traceback or a hang.

Each test asserts the exact outcome: the exit status, that the error is one
line per problem naming the dotted path, and the value, truncated.
"""

import json
import math

import pytest
from wattsim_testing import tiny_scenario

from sim.cli.main import main
from sim.results.result import Result
from sim.spec.scenario import MAX_DOCUMENT_BYTES, ScenarioError, load_scenario, scenario_warnings
from sim.units import parse_duration


def _validate(path, capsys) -> tuple[int, str]:
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    return code, err


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, capsys):
    # 9 levels of 9 aliases: 387 million strings once expanded (the old formatter printed them all)
    rows = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    rows += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(rows) + "\n")
    code, err = _validate(f, capsys)
    line = _one_line_error(err)
    assert code == 2 and "YAML aliases expand the document to at least 597,871 values (aliases may add at most 100,000)" in line
    assert len(line) < 300


def test_an_unknown_key_echoes_its_value_truncated(tmp_path, capsys):
    f = tmp_path / "long.yaml"
    f.write_text("typo: " + json.dumps(list(range(100_000))) + "\n")
    code, err = _validate(f, capsys)
    line = _one_line_error(err)
    assert code == 2 and line.startswith("error: typo: unknown key (value [0, 1, 2, 3, ...])")


@pytest.mark.parametrize("text,expect", [
    ("a: !!python/object/apply:os.system ['echo pwned']\n", "could not determine a constructor for the tag"),
    ("a: !custom 3\n", "could not determine a constructor for the tag '!custom'"),
])
def test_tags_that_build_objects_are_refused(tmp_path, capsys, text, expect):
    f = tmp_path / "tag.yaml"
    f.write_text(text)
    code, err = _validate(f, capsys)
    assert code == 2 and expect in _one_line_error(err)


def test_a_binary_file_is_refused(tmp_path, capsys):
    f = tmp_path / "bin.yaml"
    f.write_bytes(bytes(range(256)) * 8)
    code, err = _validate(f, capsys)
    assert code == 2 and "a binary file (a NUL byte at offset 0)" in _one_line_error(err)


def test_text_that_is_not_utf8_is_refused(tmp_path, capsys):
    f = tmp_path / "latin1.yaml"
    f.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    code, err = _validate(f, capsys)
    assert code == 2 and "not UTF-8 text (byte 0xe9 at offset 9)" in _one_line_error(err)


@pytest.mark.parametrize("text", [
    "cluster: " + "[" * 3000 + "]" * 3000 + "\n",             # flow brackets (a RecursionError before)
    "".join(" " * i + f"k{i}:\n" for i in range(40)) + " " * 40 + "v: 1\n",  # block nesting
    "- " * 50 + "x\n",
])
def test_deep_nesting_is_refused_in_one_line(tmp_path, capsys, text):
    f = tmp_path / "deep.yaml"
    f.write_text(text)
    code, err = _validate(f, capsys)
    line = _one_line_error(err)
    assert code == 2 and ("nested more than 32 levels" in line or "exceeded maximum nesting depth" in line)


def test_deep_json_is_refused(tmp_path, capsys):
    f = tmp_path / "deep.json"
    f.write_text('{"cluster": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, err = _validate(f, capsys)
    assert code == 2 and "nested more than 32 levels" in _one_line_error(err)


def test_a_file_too_large_is_refused_before_reading(tmp_path, capsys):
    f = tmp_path / "big.yaml"
    f.write_text("# " + "x" * MAX_DOCUMENT_BYTES + "\n")
    code, err = _validate(f, capsys)
    assert code == 2 and "is too large for a scenario file" in _one_line_error(err)


def test_a_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path, capsys):
    f = tmp_path / "syntax.yaml"
    f.write_text("cluster: [\n  nodes: 3\n")
    code, err = _validate(f, capsys)
    line = _one_line_error(err)
    assert code == 2 and "not valid YAML at line 3, column 1:" in line and "expected ',' or ']'" in line


# -- numbers: finite and in range, in every class of numeric field ----------------------------

@pytest.mark.parametrize("section,path,value", [
    ({"cooling": {"model": "constant-pue", "pue": math.inf}}, "cooling.pue", "inf"),
    ({"cluster": {"nodes": 2, "power_cap_w": math.nan}}, "cluster.power_cap_w", "nan"),
    ({"workload": {"jobs": [{"accelerators": 8, "model": "llama-7b", "tokens": math.inf}]}},
     "workload.jobs.0.tokens", "inf"),
    ({"workload": {"jobs": [{"accelerators": 8, "model": {"parameters": math.inf, "tokens": 1e9}}]}},
     "workload.jobs.0.model.parameters", "inf"),
    ({"workload": {"generator": {"rate_per_hour": math.nan}}}, "workload.generator.rate_per_hour", "nan"),
    ({"supply": {"battery": {"capacity_kwh": math.inf}}}, "supply.battery.capacity_kwh", "inf"),
])
def test_inf_and_nan_are_refused_in_every_numeric_field_class(section, path, value):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(**section))
    assert str(exc.value) == f"{path}: {value} is not allowed: every number must be finite"


@pytest.mark.parametrize("value", [math.inf, "1e400d", 10**400])
def test_durations_are_finite_and_bounded(value):
    with pytest.raises(ScenarioError, match=r"^duration: .* is not allowed: .*duration must be a number of seconds "
                                            r"in \[0, 3.154e\+09\] \(100 years\)"):
        load_scenario(tiny_scenario(duration=value))


def test_minutes_are_min_and_m_is_refused_as_ambiguous():
    assert parse_duration("90min") == 5400.0
    for text in ("6M", "6m", "1h30m"):
        with pytest.raises(ValueError, match=r"is ambiguous: 'm' could mean minutes \('min'\) or months"):
            parse_duration(text)


@pytest.mark.parametrize("nodes,shown", [(100_000_000, "100,000,000 nodes"), (10**400, "about 10^400 nodes")])
def test_a_cluster_beyond_memory_is_refused_with_the_estimate(nodes, shown):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100"}))
    msg = str(exc.value)
    assert msg.startswith(f"cluster.nodes: {shown} and about 0 jobs need about ")
    assert "(16 kB per node, 5 kB per job, measured); this machine has" in msg


def test_an_empty_scenario_warns_that_it_has_no_workload(tmp_path, capsys):
    f = tmp_path / "empty.yaml"
    f.write_text("")
    assert main(["validate", str(f)]) == 0
    err = capsys.readouterr().err
    assert err.strip() == ("warning: workload: the scenario has no jobs (no workload.jobs, generator(s) or trace): "
                           "the run simulates an idle cluster of 16 nodes for 7 d")


def test_pv_without_weather_warns_which_weather_it_uses():
    s = load_scenario(tiny_scenario(supply={"pv": {"capacity_kw": 100}},
                                    workload={"jobs": [{"accelerators": 8, "flops": 1e18}]}))
    assert scenario_warnings(s) == ["supply.pv: generation from weather, but no supply.weather is given: using the "
                                    "bundled tmy3-greensboro-nc (set supply.weather to your site)"]


# -- one clear line: the bad value named, no union branch, no class name ---------------------

def test_an_unknown_cooling_model_names_the_value():
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(cooling={"model": "magic-cooling"}))
    assert str(exc.value) == ("cooling.model: 'magic-cooling' is not allowed: give 'constant-pue', 'plant' or a "
                              "'package.module:Class' of your own")


def test_a_job_model_error_has_no_union_branch_or_class_name():
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(workload={"jobs": [{"accelerators": 8, "model": {"parameters": -1, "tokens": 1e9}}]}))
    assert str(exc.value) == "workload.jobs.0.model.parameters: -1 is not allowed: Input should be greater than 0"
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(workload={"jobs": [{"accelerators": 8, "model": 5, "tokens": 1e9}]}))
    assert str(exc.value) == "workload.jobs.0.model: 5 is not allowed: expected a string or a mapping of keys"


def test_a_discriminated_section_path_is_the_path_written():
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(cooling={"model": "constant-pue", "pue": 0.5}))
    assert str(exc.value) == "cooling.pue: 0.5 is not allowed: Input should be greater than or equal to 1"


# -- path games in trace paths --------------------------------------------------------------

@pytest.mark.parametrize("path", ["/dev/zero", "../../../../../../../../nonexistent/../etc/shadow-x",
                                  "x" * 5000])
def test_trace_paths_that_are_not_files_are_one_line(path):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tiny_scenario(workload={"trace": {"path": path, "format": "philly"}}))
    msg = str(exc.value)
    assert msg.startswith("workload.trace") and "not found" in msg and "\n" not in msg
    assert len(msg) < 2000  # a 5,000-character path is not echoed whole


def test_a_trace_with_the_wrong_content_is_one_line_at_run_time(tmp_path, capsys):
    trace = tmp_path / "philly_wrong.csv"
    trace.write_text("a,b\n1,2\n")
    f = tmp_path / "s.yaml"
    f.write_text(json.dumps(tiny_scenario(workload={"trace": {"path": str(trace), "format": "philly"}})))
    code = main(["run", str(f), "-o", str(tmp_path / "out"), "--no-plot"])
    err = capsys.readouterr().err
    line = _one_line_error(err)
    assert code == 2 and line.startswith("error: workload.trace: ") and "missing column(s)" in line


def test_published_for_an_unknown_run_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "mine.yaml"
    f.write_text(json.dumps(tiny_scenario(name="my-own-run")))
    code = main(["published", str(f)])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "name 'my-own-run' is not a published run" in line


# -- results a user cannot misread ------------------------------------------------------------

def test_max_inlet_temp_nan_round_trips_through_a_run_folder(tmp_path):
    r = Result(summary={"max_inlet_temp_c": float("nan"), "name": "x", "mean_wait_s": 3.0},
               timeseries=__import__("pandas").DataFrame({"t": [1]}), jobs=__import__("pandas").DataFrame({"j": [1]}),
               nodes=__import__("pandas").DataFrame({"n": [1]}))
    back = Result.from_dir(r.to_dir(tmp_path / "run"))
    assert math.isnan(back.summary["max_inlet_temp_c"]) and back.summary["mean_wait_s"] == 3.0
