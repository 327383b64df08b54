"""Network power: switches and NICs, from the fabric's state (`NetworkPowerModel` has the figures and sources).

    P_switch = switch_idle_w + port_active_w * active ports + port_idle_w * idle ports
               + energy_per_bit_j * 8 * ingress bytes/s
    P_nics   = sum over hosts of nic_w + port power of the host's port-ends
"""

from __future__ import annotations

import numpy as np

from sim.network.flows import Network
from sim.spec.network import NetworkPowerModel
from sim.units import BITS_PER_BYTE


def network_power_w(power: NetworkPowerModel, network: Network) -> dict[str, float]:
    """Watts per switch (keyed by node name), ``"nics"`` and ``"total"``."""
    router = network.router
    active = network._active_ports_per_node()
    idle = network._degree - active
    ingress_bytes_per_s = network.switch_throughput_bytes_per_s()
    port_w = power.port_active_w * active + power.port_idle_w * idle
    is_switch = network._is_switch
    switch_w = (power.switch_idle_w + port_w
                + power.energy_per_bit_j * BITS_PER_BYTE * ingress_bytes_per_s)
    out: dict[str, float] = {}
    for i in np.flatnonzero(is_switch):
        name = str(router.nodes[i])
        if name in ("nics", "total"):
            raise ValueError(f"a switch may not be named {name!r} (reserved in power reports)")
        out[name] = float(switch_w[i])
    hosts_with_ports = (~is_switch) & (network._degree > 0)
    out["nics"] = float(power.nic_w * hosts_with_ports.sum() + port_w[~is_switch].sum())
    out["total"] = float(switch_w[is_switch].sum() + out["nics"])
    return out
