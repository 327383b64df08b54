"""Scenario loading: YAML/JSON, overrides, and one-line errors naming the dotted path."""

import json

import pytest
from wattsim_testing import tiny_scenario

from sim import ScenarioError, load_scenario


def error_of(doc, overrides=None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc, overrides=overrides)
    return str(info.value)


def test_yaml_and_json_give_the_same_scenario(tmp_path):
    doc = tiny_scenario()
    (tmp_path / "s.json").write_text(json.dumps(doc))
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    assert load_scenario(tmp_path / "s.json") == load_scenario(tmp_path / "s.yaml")


def test_overrides_by_dotted_path_including_list_items():
    doc = tiny_scenario(workload={"jobs": [{"accelerators": 1, "flops": 1e15}]})
    s = load_scenario(doc, overrides={"cluster.nodes": 8, "workload.jobs.0.accelerators": 4,
                                      "duration": "2h"})
    assert s.cluster.nodes == 8
    assert s.workload.jobs[0].accelerators == 4
    assert s.horizon_s == 7200.0


def test_ten_line_file_runs_with_defaults(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: short\nduration: 1h\ncluster: {nodes: 1}\n")
    s = load_scenario(p)
    assert s.cooling.model == "constant-pue" and s.plant.step == 60.0


def test_unknown_key_names_its_path():
    msg = error_of(tiny_scenario(cluster={"nodes": 2, "nodez": 3}))
    assert msg == "cluster.nodez: unknown key (value 3); check the spelling against the docs"


def test_negative_node_count():
    msg = error_of(tiny_scenario(), overrides={"cluster.nodes": -4})
    assert msg.startswith("cluster.nodes: -4 is not allowed")
    assert "greater than or equal to 1" in msg
    assert "\n" not in msg


def test_bad_duration_string():
    msg = error_of(tiny_scenario(), overrides={"duration": "7x"})
    assert msg.startswith("duration: '7x' is not allowed")
    assert "'7d', '90min', '3600s'" in msg


def test_unknown_accelerator_in_a_user_node_type():
    doc = tiny_scenario(catalog={"node_types": {"my-node": {
        "name": "mine", "accelerator": "h1000", "accelerators_per_node": 4, "host_idle_w": 100,
        "host_busy_w": 200, "intra_node_bandwidth_bytes_per_s": 1e11, "nic_bandwidth_bytes_per_s": 1e10}}},
        cluster={"nodes": 1, "node_type": "my-node"})
    msg = error_of(doc)
    assert msg.startswith("catalog:") and "h1000" in msg


def test_unknown_node_type_lists_the_known_ones():
    msg = error_of(tiny_scenario(), overrides={"cluster.node_type": "dgx-h1000"})
    assert msg.startswith("cluster.node_type: unknown node type 'dgx-h1000'; known: ")
    assert "dgx-h100" in msg


def test_job_larger_than_the_cluster_is_reported_not_a_hang():
    doc = tiny_scenario(workload={"jobs": [{"accelerators": 1, "flops": 1e15},
                                           {"accelerators": 17, "flops": 1e15}]})
    msg = error_of(doc)
    assert msg == ("workload.jobs.1.accelerators: 17 is not allowed: the cluster has 16 accelerators")


def test_job_work_given_twice_is_refused():
    msg = error_of(tiny_scenario(workload={"jobs": [{"accelerators": 1, "flops": 1e15, "duration": "1h"}]}))
    assert msg.startswith("workload.jobs.0:") and "exactly one way" in msg


def test_unknown_policy_lists_the_registered_ones():
    msg = error_of(tiny_scenario(), overrides={"scheduler.queue": "fifoo"})
    assert msg.startswith("scheduler.queue: 'fifoo' is not allowed: not a queue policy; known: ") and "fifo" in msg


def test_user_accelerator_and_node_type_run():
    doc = tiny_scenario(catalog={
        "accelerators": {"my-gpu": {"based_on": "h100", "name": "H100 at 500 W", "tdp_w": 500, "busy_w": 450}},
        "node_types": {"my-node": {"based_on": "dgx-h100", "name": "mine", "accelerator": "my-gpu"}}},
        cluster={"nodes": 1, "node_type": "my-node"})
    s = load_scenario(doc)
    assert s.cluster.node_type == "my-node"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "nope.yaml")


def test_overrides_never_mutate_the_values_passed_in():
    # a sweep passes the same dict to many points; a later, deeper override must not leak into it
    cooling = {"model": "constant-pue", "pue": 1.2}
    s1 = load_scenario(tiny_scenario(), overrides={"cooling": cooling, "cooling.pue": 1.5})
    s2 = load_scenario(tiny_scenario(), overrides={"cooling": cooling})
    assert cooling == {"model": "constant-pue", "pue": 1.2}
    assert (s1.cooling.pue, s2.cooling.pue) == (1.5, 1.2)


def test_yaml_off_means_off_for_the_network_model():
    # YAML 1.1 reads a bare `off` as False: `--set network.model=off` must still mean "off"
    from sim.spec.scenario import parse_override

    key, value = parse_override("network.model=off")
    assert value is False
    assert load_scenario(tiny_scenario(), overrides={key: value}).network.model == "off"


def test_a_trace_that_does_not_cover_the_run_is_a_scenario_error_with_a_hint():
    # gb-2020 covers 2019-12-20 .. 2021-01-10; until-done builds inputs for max_duration (366 d)
    from sim import simulate

    doc = tiny_scenario(duration="until-done", supply={"grid": {"carbon_intensity": {"trace": "gb-2020"}}},
                        workload={"jobs": [{"accelerators": 1, "flops": 1e18}]})
    msg = error_of_run(doc, simulate)
    assert msg.startswith("supply.grid.carbon_intensity: trace ")
    assert "set max_duration to what the run needs" in msg


def error_of_run(doc, simulate) -> str:
    with pytest.raises(ScenarioError) as info:
        simulate(load_scenario(doc))
    return str(info.value)
