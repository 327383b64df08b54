"""The scenario YAML loader (sim/spec/yaml_load.py) against PyYAML's CSafeLoader, and its cost.

Values must be those `yaml.load(text, Loader=CSafeLoader)` gives (the loader
scenario files were read with before); errors must be the same kind of YAML
error. The cost test counts what the loader builds (no node per value, peak
Python allocations), never time.
"""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import pytest
import yaml
import yaml.nodes

from sim.spec.errors import ScenarioError
from sim.spec.scenario import MAX_DEPTH, read_document
from sim.spec.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parents[1]

SAME = [
    "", "# only a comment\n", "---\n", "12", '"x"', "[1, 2]", "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n",
    # YAML 1.1 implicit types, every form the Resolver knows
    "a: [1, 2.5, .inf, -.Inf, .nan, 0o17, 017, 0b101, 1_000, +3, -0, 1e3, 1.0e+3, 1.0e-3, .5, 1., -.5, "
    "0x_1F, 190:20:30, -1:30, 1:30.5, yes, No, on, OFF, y, ~, null, Null, '', \"\", \"1\", x y, 2020-1-01]",
    "a: 2020-06-01\nb: 2020-06-01T00:00:00Z\nc: 2001-12-14t21:59:43.10-05:00\nd: 2001-12-14 21:59:43.10 -5\n",
    "a:\n  - b: 1\n    c: [x, {d: e}]\n  - - 1\n    - 2\n",
    "a: |\n  line1\n  line2\nb: >\n  folded\n  text\nc: 'it''s'\nd: \"tab\\there\"\n",
    "{a: 1, a: 2}", "? a\n? b\n", "=: 3", "a: {? [1, 2]: x}",
    # explicit safe tags
    "a: ! 12", "a: !!int 0x1F", "a: !!str 12", "a: !!int \"12\"", "a: !!float 3", "a: !!null x",
    "a: !!binary aGVsbG8=", "a: !<tag:yaml.org,2002:str> 5", "a: !!timestamp 2001-12-14t21:59:43.10-05:00",
    "- x\n- !!map {a: 1}\n- !!seq [1]\n", "a: !!set {x, y}", "a: !!omap [{a: 1}, {b: 2}]",
    "a: !!pairs [{a: 1}, {a: 2}]", "? !!set {x}\n: 1\n",
    # anchors, aliases, merge keys (one source per key, or one-character keys)
    "a: &s str\nb: *s\nc: &l [1, 2]\nd: *l\n", "&a a: 1\nb: *a\n", "- &a [*a]",
    "x: &m {a: 1, b: 2}\ny:\n  <<: *m\n  b: 3\n", "<<: {a: 1}\nb: 2\n", "a: &a {x: 1}\nc: {y: 0, <<: *a, x: 5}\n",
    "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc: {<<: [*a, *b], w: 0}\n",
    # errors
    "a: [", "cluster: [\n  nodes: 3\n", "a: b: c", "---\na: 1\n---\nb: 2\n", "a: !custom 3",
    "a: !!python/object/apply:os.system ['echo pwned']", "a: !!python/name:os.system {}", "? [1]\n: 2",
    "x: =", "a: <<", "x: {<<: 3}", "x: {<<: [1]}", "a: !!str [1]", "a: !!set [1]", "a: !!int abc",
    "a: !!omap [{a: 1, b: 2}]", "a: 2020-13-01", "k: 1" + "0" * 5000, "a: &x 1\nb: &x 2\n", "a: *b",
]


def _outcome(load, text):
    try:
        return "ok", load(text)
    except Exception as exc:  # the kind of error and its line are compared, not the wording or column
        kind = "YAMLError" if isinstance(exc, yaml.YAMLError) else type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        return "error", kind, mark.line if mark is not None else None


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        if len(a) == 1 and a[0] is a:  # the self-referencing list `&a [*a]`
            return len(b) == 1 and b[0] is b
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("text", SAME)
def test_values_and_errors_are_those_of_the_safe_loader(text):
    ref = _outcome(lambda t: yaml.load(t, Loader=yaml.CSafeLoader), text)  # noqa: S506 - a safe loader
    got = _outcome(lambda t: load_yaml(t, MAX_DEPTH)[0], text)
    assert ref[0] == got[0], (ref, got)
    if ref[0] == "ok":
        assert _same(ref[1], got[1]), (ref[1], got[1])
    else:
        assert ref[1:] == got[1:]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_scenario_reads_as_the_safe_loader_reads_it(path):
    text = path.read_text(encoding="utf-8")
    assert _same(load_yaml(text, MAX_DEPTH)[0], yaml.load(text, Loader=yaml.CSafeLoader))  # noqa: S506


def test_merge_sources_follow_the_spec_first_source_wins():
    # YAML merge-key spec: keys of earlier sources win; PyYAML 6.0 lets the later one win for
    # keys of more than one character (its de-duplication compares key objects by identity)
    text = "a: &a {xx: 1}\nb: &b {xx: 2, yy: 2}\nc: {<<: [*a, *b], zz: 0}\n"
    assert load_yaml(text, MAX_DEPTH)[0]["c"] == {"xx": 1, "yy": 2, "zz": 0}


def test_a_bad_boolean_tag_is_a_yaml_error_not_a_key_error():
    with pytest.raises(yaml.MarkedYAMLError, match="'maybe' is not a boolean"):
        load_yaml("a: !!bool maybe\n", MAX_DEPTH)


def test_aliases_are_reported_and_share_one_object():
    doc, aliased = load_yaml("a: &l [1, 2]\nb: *l\n", MAX_DEPTH)
    assert aliased and doc["a"] is doc["b"]
    assert load_yaml("a: [1, 2]\nb: [1, 2]\n", MAX_DEPTH)[1] is False


def test_depth_is_refused_as_containers_open_before_later_syntax_errors():
    text = "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\nb: [unclosed\n"
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_yaml(text, MAX_DEPTH)
    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"  # root mapping + 31 lists = 32 levels
    assert load_yaml(ok, MAX_DEPTH)[0]["a"] is not None


def test_a_1_mb_job_list_builds_no_node_per_value(tmp_path, monkeypatch):
    """The cost of PyYAML's composer and constructor was one ScalarNode (and two Marks) per value and
    65 MB of Python allocations at peak for this 1 MB list (main before this loader; issue 15: validate
    took 3.7 s and 224 MB). Read from parser events, no node is built and the peak is a fraction."""
    rows, size, i = [], 0, 0
    while size < 999_000:
        row = f"  - {{accelerators: 8, flops: 1.0e+18, submit: {i}}}\n"
        rows.append(row)
        size += len(row)
        i += 1
    f = tmp_path / "jobs.yaml"
    f.write_text("duration: 1d\nworkload:\n jobs:\n" + "".join(rows))
    nodes = []
    original = yaml.nodes.ScalarNode.__init__

    def counting(self, *args, **kwargs):
        nodes.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(yaml.nodes.ScalarNode, "__init__", counting)
    tracemalloc.start()
    try:
        doc = read_document(f)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(doc["workload"]["jobs"]) == i
    assert doc["workload"]["jobs"][-1] == {"accelerators": 8, "flops": 1.0e18, "submit": i - 1}
    assert nodes == []
    assert peak < 20e6, f"{peak / 1e6:.1f} MB"
