"""Request streams: the shipped Azure traces, the fitted lengths, seeded generators, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from sim.engine.meter import Meter
from sim.serving.deployment import build_engine, make_perf, make_stream
from sim.serving.perf import DeploymentError
from sim.serving.requests import (
    LOGNORMAL_FITS,
    StreamError,
    diurnal_arrivals,
    diurnal_rate,
    draw_lengths,
    poisson_arrivals,
    read_trace,
)
from sim.spec.serving import ServingConfig


def test_the_azure_conversation_trace_has_19366_requests_over_an_hour():
    s = read_trace("azure-conv")
    assert len(s) == 19_366  # Splitwise (ISCA'24) conversation trace, counted on the file
    assert s.arrival_s[0] == 0.0 and s.arrival_s[-1] == pytest.approx(3501.72, abs=0.01)
    assert np.all(np.diff(s.arrival_s) >= 0)
    assert s.prompt_tokens.mean() == pytest.approx(1154.70, abs=0.01)
    assert s.output_tokens.mean() == pytest.approx(211.13, abs=0.01)
    assert len(read_trace("azure-code")) == 8_819


@pytest.mark.parametrize("name", ["azure-conv", "azure-code"])
def test_the_lognormal_fits_are_the_trace_moments_of_log_tokens(name):
    s = read_trace(name)
    (pm, ps), (om, os_) = LOGNORMAL_FITS[name]
    lp, lo = np.log(s.prompt_tokens), np.log(s.output_tokens)
    assert (lp.mean(), lp.std(), lo.mean(), lo.std()) == pytest.approx((pm, ps, om, os_), abs=1e-4)
    # prompt and output lengths are nearly uncorrelated, so they are drawn independently
    assert abs(np.corrcoef(lp, lo)[0, 1]) < 0.1


def test_generated_lengths_follow_the_fit_and_are_seeded():
    a = draw_lengths(np.random.default_rng(3), 200_000, "lognormal-conv", 10**6)
    b = draw_lengths(np.random.default_rng(3), 200_000, "lognormal-conv", 10**6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.log(a[0]).mean() == pytest.approx(6.6333, abs=0.01)
    assert np.median(a[1]) == pytest.approx(np.exp(5.0190), rel=0.02)  # median of a lognormal = e^mu
    p, o = draw_lengths(np.random.default_rng(1), 1000, "empirical-code", 10**6)
    code = read_trace("azure-code")
    assert set(o) <= set(code.output_tokens)


def test_poisson_arrivals_scale_to_any_rate():
    for rate in (0.5, 5.4, 200.0):
        t = poisson_arrivals(np.random.default_rng(0), rate, 3600.0)
        n = rate * 3600.0
        assert abs(len(t) - n) < 4 * np.sqrt(n)  # Poisson count: mean = variance = rate x T
        assert t.max() < 3600.0 and np.all(np.diff(t) >= 0)


def test_diurnal_arrivals_follow_the_day_and_week():
    # 4 weeks: the peak hour gets (1 + a) / (1 - a) times the trough hour's arrivals; weekends x 0.5
    rate, a = 2.0, 0.6
    t = diurnal_arrivals(np.random.default_rng(0), rate, 28 * 86400.0, a, 14.0, 0.5, 0.0, 0)
    hod = (t / 3600.0) % 24
    dow = (t // 86400.0) % 7
    peak = np.sum((hod >= 13.5) & (hod < 14.5) & (dow < 5))
    trough = np.sum((hod >= 1.5) & (hod < 2.5) & (dow < 5))
    expect = (1 + a * np.cos(0)) / (1 + a * np.cos(2 * np.pi * (2 - 14) / 24))
    assert peak / trough == pytest.approx(expect, rel=0.1)
    weekday, weekend = np.sum(dow < 5) / 20, np.sum(dow >= 5) / 8
    assert weekend / weekday == pytest.approx(0.5, rel=0.05)
    assert diurnal_rate(np.array([14 * 3600.0]), rate, a, 14.0, 0.5, 0.0, 0)[0] == pytest.approx(rate * 1.6)


def test_a_trace_with_a_missing_column_is_refused_by_name(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46,374\n")
    with pytest.raises(StreamError, match=r"^serving\.requests\.trace: bad\.csv has no column 'GeneratedTokens'"):
        read_trace(str(f))
    g = tmp_path / "neg.csv"
    g.write_text("arrival_s,prompt_tokens,output_tokens\n0.0,10,5\n1.0,-3,5\n")
    with pytest.raises(StreamError, match=r"neg\.csv row 3: prompt tokens '-3' is not allowed"):
        read_trace(str(g))


def test_a_request_longer_than_the_context_window_is_refused_with_its_index():
    # Llama 2 70B has a 4,096-token window; 1,612 requests of the conversation trace are longer
    cfg = ServingConfig.model_validate({"model": "llama-2-70b", "requests": {"trace": "azure-conv"}})
    perf = make_perf(cfg)
    with pytest.raises(StreamError, match=r"^serving\.requests\.trace\[\d+\]: prompt \d+ \+ output \d+ = \d+ tokens "
                                          r"is not allowed: longer than the context window of llama-2-70b "
                                          r"\(4096 tokens; 1612 such requests\)"):
        make_stream(cfg, 3600.0, 1, perf.model)


def test_a_request_larger_than_a_replica_kv_cache_is_refused():
    cfg = ServingConfig.model_validate({"requests": {"trace": "azure-conv"}, "memory_fraction": 0.42})
    with pytest.raises(DeploymentError, match=r"^serving\.requests\[\d+\]: \d+ tokens is not allowed: a replica's KV"):
        build_engine(cfg, Meter(lambda: 0.0), 3600.0)


def test_config_errors_name_the_dotted_path():
    with pytest.raises(ValidationError, match="requests"):
        ServingConfig.model_validate({"requests": {"trace": "azure-conv", "generator": {"rate_per_s": 1}}})
    with pytest.raises(ValidationError, match="max_batch"):
        ServingConfig.model_validate({"requests": {"trace": "azure-conv"}, "max_batch": 0})
