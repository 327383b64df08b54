"""Tests of the hardware and model catalog (sim.catalog).

Hand-checked numbers cite their source; the system-power checks are the
calibration targets of Patterson et al. 2021 ("Carbon Emissions and Large
Neural Network Training", Tables 3-4): measured system W per accelerator
including host share, no PUE.
"""

from __future__ import annotations

import dataclasses
import re
from importlib import resources

import pytest
import yaml

from sim.catalog import (
    Accelerator,
    Catalog,
    CatalogError,
    ModelPreset,
    NodeType,
    _Loader,
    _read,
    load_catalog,
)

REQUIRED_ACCELERATORS = [
    "p100", "v100", "a100-40gb", "a100-80gb", "h100", "h200", "b200",
    "tpu-v2", "tpu-v3", "tpu-v4", "tpu-v5e",
]
REQUIRED_NODE_TYPES = [
    "dgx-1-v100", "dgx-a100", "dgx-a100-80gb", "dgx-h100", "dgx-h200", "dgx-b200",
    "tpu-v3-host", "tpu-v4-host", "tpu-v5e-host", "dgx-1-p100",
]
REQUIRED_MODELS = [
    "resnet50", "bert-large", "gpt2-1.5b", "llama-7b", "llama-70b", "t5-11b",
    "gpt3-175b", "meena-2.6b",
]

GPU_H100 = {
    "name": "My GPU",
    "peak_flops": 500e12,
    "tdp_w": 500,
    "idle_w": 50,
    "min_cap_w": 150,
    "memory_bytes": 64e9,
    "memory_bandwidth_bytes_per_s": 2e12,
    "default_mfu": 0.4,
}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def test_yaml_files_are_package_data() -> None:
    root = resources.files("sim.catalog")
    for name in ("accelerators.yaml", "node_types.yaml", "models.yaml"):
        assert root.joinpath(name).is_file(), name


def test_catalog_files_read_by_libyaml_equal_the_pure_python_read() -> None:
    # the catalog parses with libyaml (sim.catalog._Loader) for speed; the values, with their
    # types, must be those of PyYAML's pure-Python SafeLoader plus the same '989e12' resolver
    class PurePython(yaml.SafeLoader):
        pass

    PurePython.add_implicit_resolver("tag:yaml.org,2002:float",
                                     re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                                     list("-+0123456789"))

    def typed(x: object) -> object:  # values with their types (1 == 1.0 == True in Python)
        if isinstance(x, dict):
            return {k: typed(v) for k, v in x.items()}
        if isinstance(x, list):
            return [typed(v) for v in x]
        return (type(x).__name__, x)

    assert yaml.__with_libyaml__ and issubclass(_Loader, yaml.CSafeLoader)
    for name in ("accelerators.yaml", "node_types.yaml", "models.yaml"):
        text = resources.files("sim.catalog").joinpath(name).read_text(encoding="utf-8")
        assert typed(_read(name)) == typed(yaml.load(text, Loader=PurePython)), name  # noqa: S506 - safe
    assert yaml.load("x: 989e12", Loader=_Loader) == {"x": 989e12}  # noqa: S506 - a SafeLoader subclass


def test_load_catalog_is_cached(cat: Catalog) -> None:
    assert load_catalog() is cat


@pytest.mark.parametrize("key", REQUIRED_ACCELERATORS)
def test_required_accelerators(cat: Catalog, key: str) -> None:
    a = cat.accelerator(key)
    assert isinstance(a, Accelerator) and a.key == key
    assert 0 <= a.idle_w < a.tdp_w and 0 < a.min_cap_w <= a.tdp_w
    assert a.idle_w <= a.busy_w <= a.tdp_w
    assert 0 < a.default_mfu <= 1 and a.source


@pytest.mark.parametrize("key", REQUIRED_NODE_TYPES)
def test_required_node_types(cat: Catalog, key: str) -> None:
    nt = cat.node_type(key)
    assert isinstance(nt, NodeType) and nt.key == key
    assert nt.accelerator in cat.accelerators
    assert 0 <= nt.host_idle_w <= nt.host_busy_w and nt.source


@pytest.mark.parametrize("key", REQUIRED_MODELS)
def test_required_models(cat: Catalog, key: str) -> None:
    m = cat.model(key)
    assert isinstance(m, ModelPreset) and m.key == key
    assert m.sample_unit in ("token", "image", "sequence")
    assert m.critical_batch > 0 and m.source


def test_node_accelerators(cat: Catalog) -> None:
    expected = {
        "dgx-1-v100": ("v100", 8), "dgx-a100": ("a100-40gb", 8), "dgx-a100-80gb": ("a100-80gb", 8),
        "dgx-h100": ("h100", 8), "dgx-h200": ("h200", 8), "dgx-b200": ("b200", 8),
        "dgx-1-p100": ("p100", 8), "tpu-v3-host": ("tpu-v3", 4), "tpu-v4-host": ("tpu-v4", 4),
        "tpu-v5e-host": ("tpu-v5e", 8),
    }
    for key, (acc, n) in expected.items():
        nt = cat.node_type(key)
        assert (nt.accelerator, nt.accelerators_per_node) == (acc, n), key


@pytest.mark.parametrize(
    ("alias", "key"),
    [
        ("H100", "h100"), ("h100-sxm", "h100"), ("V100", "v100"), ("tpu-v4", "tpu-v4"),
        ("TPUv3", "tpu-v3"), ("tpu_v3", "tpu-v3"), ("TPU v3", "tpu-v3"), ("A100", "a100-40gb"),
        ("  b200 ", "b200"),
    ],
)
def test_accelerator_aliases(cat: Catalog, alias: str, key: str) -> None:
    assert cat.accelerator(alias).key == key


def test_node_and_model_aliases(cat: Catalog) -> None:
    assert cat.node_type("hgx-v100").key == "dgx-1-v100"
    assert cat.node_type("DGX-H100").key == "dgx-h100"
    assert cat.model("transformer-7b").key == "llama-7b"
    assert cat.model("ResNet-50").key == "resnet50"


def test_unknown_key_lists_known(cat: Catalog) -> None:
    with pytest.raises(CatalogError) as err:
        cat.accelerator("h1000")
    msg = str(err.value)
    assert msg.startswith("unknown accelerator 'h1000'; known: a100-40gb, a100-80gb, ")
    assert "h100" in msg and "tpu-v5e" in msg
    assert isinstance(err.value, KeyError)
    with pytest.raises(CatalogError, match="unknown node type 'dgx-z'; known: .*dgx-h100"):
        cat.node_type("dgx-z")
    with pytest.raises(CatalogError, match="unknown model 'gpt9'; known: .*resnet50"):
        cat.model("gpt9")


# --- hand-checked figures ----------------------------------------------------


def test_hand_checked_figures(cat: Catalog) -> None:
    # NVIDIA H100 spec: BF16 1,979 TFLOPS with sparsity -> 989 dense (accelerators.csv)
    assert cat.accelerator("h100").peak_flops == pytest.approx(989e12)
    # NVIDIA V100 datasheet: "Max Power 300 W", tensor 125 TFLOPS (accelerators.csv)
    assert cat.accelerator("v100").tdp_w == 300
    assert cat.accelerator("v100").peak_flops == pytest.approx(125e12)
    # Google Cloud 'TPU v4' doc: 275 TFLOPS bf16 (accelerators.csv)
    assert cat.accelerator("tpu-v4").peak_flops == pytest.approx(275e12)
    # Google Cloud 'TPU v3' doc: measured chip min/mean/max 123/220/262 W
    v3 = cat.accelerator("tpu-v3")
    assert (v3.idle_w, v3.busy_w, v3.tdp_w) == (123, 220, 262)
    # nvidia-smi power-limit ranges: H100 200-700 W, A100 100-400 W, V100 100-300 W
    assert cat.accelerator("h100").min_cap_w == 200
    assert cat.accelerator("a100-80gb").min_cap_w == 100
    assert cat.accelerator("v100").min_cap_w == 100
    # GPT-3 on V100: 24.6 / 125 TFLOP/s = 19.7% (Patterson 2021 Table 4)
    assert cat.accelerator("v100").default_mfu == pytest.approx(24.6 / 125, abs=0.005)
    # BERT-large: 6 x 340e6 x 512 FLOPs per sequence
    assert cat.model("bert-large").flops_per_sample == pytest.approx(6 * 340e6 * 512)
    # LM presets follow 6 N per token (Kaplan et al. 2020)
    for m in cat.models.values():
        if m.sample_unit == "token":
            assert m.flops_per_sample == pytest.approx(6 * m.parameters, rel=1e-3), m.key
    # GPT-3: 6 x 175e9 x 300e9 tokens = 3.15e23 vs 3.14e23 reported (Patterson T4)
    assert cat.model("gpt3-175b").flops_per_sample * 300e9 == pytest.approx(3.14e23, rel=0.01)


def test_system_power_per_chip_matches_patterson(cat: Catalog) -> None:
    # V100: GPT-3 330 W system per GPU (Patterson 2021 T4), within 10%
    v100 = cat.system_power_per_accelerator_w("dgx-1-v100")
    acc = cat.accelerator("v100")
    nt = cat.node_type("dgx-1-v100")
    assert v100 == pytest.approx(acc.busy_w + nt.host_busy_w / 8)
    assert v100 == pytest.approx(330, rel=0.10)
    # Even with the GPU at its full TDP the system figure stays within 20%
    assert acc.tdp_w + nt.host_busy_w / 8 == pytest.approx(330, rel=0.20)
    # TPU v3: T5/Meena/GShard/Switch 310/289/288/245 W -> mean 283 W, within 15%
    v3 = cat.system_power_per_accelerator_w("tpu-v3-host")
    assert v3 == pytest.approx((310 + 289 + 288 + 245) / 4, rel=0.15)
    v3nt = cat.node_type("tpu-v3-host")
    assert cat.accelerator("tpu-v3").tdp_w + v3nt.host_busy_w / 4 == pytest.approx(283, rel=0.20)
    # P100: Patterson T3 271 W, T1 296 W
    assert 271 * 0.9 <= cat.system_power_per_accelerator_w("dgx-1-p100") <= 296 * 1.1
    # TPU v2: Patterson T3 221 W
    assert cat.system_power_per_accelerator_w("tpu-v2-host") == pytest.approx(221, rel=0.10)


def test_bloom_energy_within_20_percent(cat: Catalog) -> None:
    # BLOOM (Luccioni 2022): 1,082,990 GPU-h; dynamic 433.2 MWh + idle/infra 256.6 MWh;
    # PUE 1.2 (M). Catalog: GPU-h x system W per GPU x PUE.
    mwh = 1_082_990 * cat.system_power_per_accelerator_w("dgx-a100-80gb") * 1.2 / 1e6
    assert mwh == pytest.approx(433.2 + 256.6, rel=0.20)


def test_host_power_within_node_rating(cat: Catalog) -> None:
    for nt in cat.node_types.values():
        if nt.rated_system_w:
            acc = cat.accelerator(nt.accelerator)
            assert acc.tdp_w * nt.accelerators_per_node + nt.host_busy_w <= nt.rated_system_w, nt.key


# --- user additions ------------------------------------------------------------


def test_with_extra_adds_user_accelerator(cat: Catalog) -> None:
    new = cat.with_extra(
        accelerators={"my-gpu": dict(GPU_H100, aliases=["MYGPU"])},
        node_types={
            "my-node": {
                "name": "4x my-gpu", "accelerator": "MyGPU", "accelerators_per_node": 4,
                "host_idle_w": 300, "host_busy_w": 600,
                "intra_node_bandwidth_bytes_per_s": 100e9, "nic_bandwidth_bytes_per_s": 50e9,
            }
        },
        models={
            "tiny-lm": {
                "name": "tiny", "parameters": 1e8, "flops_per_sample": "6e8", "sample_unit": "token",
                "gradient_bytes": 2e8, "typical_mfu": 0.3, "reference_batch_per_accelerator": 4096,
                "critical_batch": 1e6,
            }
        },
    )
    g = new.accelerator("my-gpu")
    assert g.source == "user-defined" and g.tdp_w == 500 and g.busy_w == 500  # busy defaults to TDP
    assert new.accelerator("mygpu") is g
    assert new.node_type("my-node").accelerator == "my-gpu"  # alias resolved to the key
    assert new.model("tiny-lm").flops_per_sample == 6e8  # numeric string accepted
    assert new.system_power_per_accelerator_w("my-node") == pytest.approx(500 + 150)
    # the packaged catalog is untouched
    assert "my-gpu" not in cat.accelerators and "my-gpu" not in load_catalog().accelerators


def test_with_extra_based_on(cat: Catalog) -> None:
    new = cat.with_extra(accelerators={"h100-500w": {"based_on": "H100", "tdp_w": 500, "busy_w": 450}})
    a = new.accelerator("h100-500w")
    assert a.peak_flops == cat.accelerator("h100").peak_flops and a.tdp_w == 500
    assert "based on 'h100'" in a.source
    assert new.accelerator("H100").key == "h100"  # aliases stay with the original


def test_with_extra_rejects_negative_tdp(cat: Catalog) -> None:
    with pytest.raises(ValueError, match="accelerator 'bad-gpu': field 'tdp_w' must be > 0, got -5"):
        cat.with_extra(accelerators={"bad-gpu": dict(GPU_H100, tdp_w=-5)})


def test_with_extra_rejects_unknown_field(cat: Catalog) -> None:
    with pytest.raises(ValueError, match=r"accelerator 'bad-gpu': unknown field 'tdp_watts'; allowed: name, peak_flops"):
        cat.with_extra(accelerators={"bad-gpu": dict(GPU_H100, tdp_watts=400)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"idle_w": 600}, "field 'idle_w' (600.0 W) must be below 'tdp_w'"),
        ({"min_cap_w": 900}, "field 'min_cap_w' (900.0 W) must not exceed 'tdp_w'"),
        ({"default_mfu": 1.5}, "field 'default_mfu' must be a fraction in (0, 1]"),
        ({"peak_flops": "fast"}, "field 'peak_flops' must be a number, got 'fast'"),
        ({"peak_flops": True}, "field 'peak_flops' must be a number"),
        ({"memory_bytes": float("nan")}, "field 'memory_bytes' must be finite"),
    ],
)
def test_with_extra_bad_values(cat: Catalog, change: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        cat.with_extra(accelerators={"x": dict(GPU_H100, **change)})
    assert str(err.value).startswith("accelerator 'x': ")
    assert message in str(err.value)


def test_with_extra_missing_field_and_bad_node(cat: Catalog) -> None:
    raw = dict(GPU_H100)
    del raw["peak_flops"]
    with pytest.raises(ValueError, match="accelerator 'x': missing field 'peak_flops'"):
        cat.with_extra(accelerators={"x": raw})
    node = {
        "name": "n", "accelerator": "h1000", "accelerators_per_node": 8, "host_idle_w": 1,
        "host_busy_w": 2, "intra_node_bandwidth_bytes_per_s": 1, "nic_bandwidth_bytes_per_s": 1,
    }
    with pytest.raises(ValueError, match="node type 'n8': field 'accelerator': unknown accelerator 'h1000'"):
        cat.with_extra(node_types={"n8": node})
    with pytest.raises(ValueError, match="node type 'n8': field 'accelerators_per_node' must be a whole number"):
        cat.with_extra(node_types={"n8": dict(node, accelerator="h100", accelerators_per_node=2.5)})
    with pytest.raises(ValueError, match="model 'm': field 'sample_unit' must be one of token, image, sequence"):
        fields = {k: v for k, v in dataclasses.asdict(cat.model("resnet50")).items() if k != "key"}
        cat.with_extra(models={"m": dict(fields, sample_unit="pixel")})


def test_records_are_frozen(cat: Catalog) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        cat.accelerator("h100").tdp_w = 1  # type: ignore[misc]
