"""The one picture `wattsim run` draws: facility power by component over time.

Richer figures and reports live in the `analysis` package; this module exists
so that a run folder always carries a look at its power without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.results.result import Result

_STACK = (
    ("accelerator_power_w", "accelerators"),
    ("host_power_w", "hosts"),
    ("network_power_w", "network"),
    ("background_power_w", "background load"),
    ("cooling_power_w", "cooling"),
    ("losses_power_w", "losses"),
)


def plot_power(result: Result, path: str | Path) -> Path:
    """Stacked mean power per bin (kW) with PUE on a second axis; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = result.timeseries
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    cols = [(c, label) for c, label in _STACK if c in ts and ts[c].abs().sum() > 0]
    ax.stackplot(ts["time"], *[ts[c] / 1e3 for c, _ in cols], labels=[lbl for _, lbl in cols],
                 step="post", alpha=0.85)
    ax.set_ylabel("power (kW)")
    ax.set_xlabel("time (UTC)")
    ax.set_title(f"{result.summary.get('name', 'run')}: facility power by component")
    ax.legend(loc="upper left", fontsize=8)
    if "pue" in ts:
        ax2 = ax.twinx()
        ax2.plot(ts["time"], ts["pue"], color="black", lw=0.8, label="PUE")
        ax2.set_ylabel("PUE (1)")
        top = float(ts["pue"].max()) if ts["pue"].notna().any() else 1.2
        ax2.set_ylim(1.0, max(top * 1.05, 1.2))  # PUE >= 1; a flat PUE should look flat
        ax2.ticklabel_format(axis="y", useOffset=False)
        ax2.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
