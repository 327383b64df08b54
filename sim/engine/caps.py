"""Accelerator power caps: every source in one place, the lowest wins.

Sources: the scenario's `cluster.power_cap_w`, a job's `power_cap_w`, the
cooling plant's thermal limit (per zone when the hall has zones), and the
common cap the controls set through `ControlContext.set_cap_fraction`
(`site_fraction`, a fraction of TDP). The runtime asks `cap_w(node, job)`
whenever it rates a job; a control's "what if" asks with `site_fraction=`
and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.compute.node import Node
    from sim.compute.training import Job


class PowerCaps:
    """The caps in force; `cap_w(node, job)` combines them."""

    def __init__(self, scenario_cap_w: float | None) -> None:
        self.scenario_cap_w = scenario_cap_w
        self.thermal_fraction = 1.0
        self.zone_thermal_fraction: tuple[float, ...] | None = None
        self.site_fraction = 1.0

    def set_thermal(self, fraction: float, zone_fractions: tuple[float, ...] | None = None) -> None:
        """The plant's thermal limit as a fraction of TDP (one per zone when the hall has zones)."""
        self.thermal_fraction = fraction
        self.zone_thermal_fraction = zone_fractions

    def cap_w(self, node: Node, job: Job, site_fraction: float | None = None) -> float | None:
        """The cap (W) on `job`'s accelerators on `node`; None when nothing caps them.

        ``site_fraction`` replaces the controls' common cap for this answer only.
        """
        cap = self.scenario_cap_w
        job_cap = job.power_cap_w
        if job_cap is not None and (cap is None or job_cap < cap):
            cap = job_cap
        zf = self.zone_thermal_fraction
        thermal = self.thermal_fraction if zf is None or node.zone is None else zf[node.zone]
        site = self.site_fraction if site_fraction is None else site_fraction
        fraction = min(thermal, site)
        if fraction < 1.0:
            limit = node.accelerator.tdp_w * fraction
            if cap is None or limit < cap:
                cap = limit
        return cap
