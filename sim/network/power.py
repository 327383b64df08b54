"""Network power: switches and NICs from radix, ports in use and bandwidth.

The one place the formula lives (`NetworkPowerModel` has the figures and
their sources). With ``units`` the physical switches a modelled switch stands
for and ``ports`` its cabled ports (both from
`sim.network.topology.annotate_ports`), P the port speed in bit/s and
s = P / 400 Gb/s:

    P_switch = units * switch_idle_w + ports * port_electrical_j_per_bit * P
               + s * (port_active_w * active ports + port_idle_w * idle ports)
               + energy_per_bit_j * 8 * ingress bytes/s
    P_nics   = NIC ports of all hosts * (nic_w + s * host_port_w)

A port is active when its link carries traffic either way.
"""

from __future__ import annotations

import math

import numpy as np

from sim.network.flows import Network
from sim.spec.network import DEFAULT_PORT_BYTES_PER_S, DEFAULT_SWITCH_RADIX, NetworkPowerModel
from sim.units import BITS_PER_BYTE

#: port speed the per-port transceiver figures refer to (400 Gb/s NDR)
REFERENCE_PORT_BYTES_PER_S = 400e9 / BITS_PER_BYTE


class FabricPower:
    """Power of a `Network`'s switches and NICs; the static part is computed once.

    ``switch_w()`` gives watts per switch (indexed like ``switch_index``) and
    ``nics_w()`` the hosts' NIC total, both for the network's current traffic.
    """

    def __init__(self, power: NetworkPowerModel, network: Network) -> None:
        self.power = power
        self.network = network
        graph = network.graph
        port_bw = float(graph.graph.get("port_bandwidth_bytes_per_s", DEFAULT_PORT_BYTES_PER_S))
        radix = int(graph.graph.get("switch_radix", DEFAULT_SWITCH_RADIX))
        # ports per undirected edge, in the router's edge order (link 2e / 2e+1)
        self._edge_ports = np.asarray(
            [float(d.get("ports", d["bandwidth_bytes_per_s"] / port_bw)) for _, _, d in graph.edges(data=True)]
        )
        router = network.router
        n = len(router.nodes)
        tail, head = router.link_tail[0::2], router.link_head[0::2]
        fractional = (np.bincount(tail, weights=self._edge_ports, minlength=n)
                      + np.bincount(head, weights=self._edge_ports, minlength=n))
        self._ports = np.asarray([math.ceil(x - 1e-6) if x > 0 else 0 for x in fractional], dtype=float)
        self._fractional = fractional
        units = np.asarray(
            [float(graph.nodes[node].get("units", math.ceil(p / radix)))
             for node, p in zip(router.nodes, self._ports)]
        )
        self.switch_index = np.flatnonzero(network._is_switch)
        self.host_index = np.flatnonzero(~network._is_switch)
        scale = port_bw / REFERENCE_PORT_BYTES_PER_S
        self._scale = scale
        self._static_w = (units * power.switch_idle_w
                          + self._ports * power.port_electrical_j_per_bit * port_bw * BITS_PER_BYTE)
        self._nics_w = float(self._ports[self.host_index].sum() * (power.nic_w + scale * power.host_port_w))
        self._tail, self._head = tail, head

    def _active_ports(self) -> np.ndarray:
        """Ports per node whose link carries traffic (the node's ceil'd ports, pro rata)."""
        load = self.network.link_load_bytes_per_s
        active = (load[0::2] + load[1::2]) > 0
        n = self._ports.size
        w = self._edge_ports * active
        frac = np.bincount(self._tail, weights=w, minlength=n) + np.bincount(self._head, weights=w, minlength=n)
        share = np.divide(frac, self._fractional, out=np.zeros(n), where=self._fractional > 0)
        return self._ports * share

    def switch_w(self) -> np.ndarray:
        """Watts of each switch (``switch_index`` order) at the current traffic."""
        pm = self.power
        active = self._active_ports()
        optics = self._scale * (pm.port_active_w * active + pm.port_idle_w * (self._ports - active))
        ingress = self.network.switch_throughput_bytes_per_s()
        total = self._static_w + optics + pm.energy_per_bit_j * BITS_PER_BYTE * ingress
        return total[self.switch_index]

    def nics_w(self) -> float:
        """Watts of all hosts' NIC ports (0 by default: inside the node types' host power)."""
        return self._nics_w

    def nameplate_w(self) -> float:
        """The most the fabric can draw: every port lit and every link into a switch full
        (switches at their highest power by the formula above) plus the NICs."""
        pm = self.power
        router = self.network.router
        ingress = np.bincount(router.link_head, weights=router.capacity_bytes_per_s, minlength=self._ports.size)
        optics = self._scale * max(pm.port_active_w, pm.port_idle_w) * self._ports
        total = self._static_w + optics + pm.energy_per_bit_j * BITS_PER_BYTE * ingress
        return float(total[self.switch_index].sum()) + self._nics_w


def network_power_w(power: NetworkPowerModel, network: Network) -> dict[str, float]:
    """Watts per switch (keyed by node name), ``"nics"`` and ``"total"``."""
    book = FabricPower(power, network)
    router = network.router
    out: dict[str, float] = {}
    for i, w in zip(book.switch_index.tolist(), book.switch_w().tolist()):
        name = str(router.nodes[i])
        if name in ("nics", "total"):
            raise ValueError(f"a switch may not be named {name!r} (reserved in power reports)")
        out[name] = float(w)
    out["nics"] = book.nics_w()
    out["total"] = float(sum(v for k, v in out.items() if k != "nics") + out["nics"])
    return out
