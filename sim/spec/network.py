"""The scenario's fabric: `cluster.topology` (the graph) and `network:` (how jobs use it, its power).

Pure data: nothing here builds a graph or a flow; `sim.network` does.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, field_validator

from sim.spec.types import Fraction, NonNegative, StrictModel
from sim.units import BITS_PER_BYTE

_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}


_BIN_PREFIX = {"ki": 2.0**10, "mi": 2.0**20, "gi": 2.0**30, "ti": 2.0**40}


_BANDWIDTH = re.compile(
    r"^\s*([+-]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*"
    r"(?:([kKmMgGtTpP][iI]?)?(b|B)(?:ps|/s|it/s|its/s|yte/s|ytes/s))?\s*$"
)


def parse_bandwidth(value: str | float) -> float:
    """Return bytes per second from a number (already B/s) or a string.

    Strings: a number and a unit, where a lower-case ``b`` means bits and an
    upper-case ``B`` bytes: ``"400Gbps"``, ``"400 Gb/s"``, ``"50GB/s"``,
    ``"50GBps"``, ``"1.5e9B/s"``, ``"25GiB/s"``. Decimal prefixes k, M, G, T, P
    (case-insensitive); binary Ki, Mi, Gi, Ti. A bare number is bytes/s.
    Negative values, NaN and unknown units raise ``ValueError`` naming the
    value and the accepted forms; other types (bool, None) ``TypeError``.
    """
    if isinstance(value, bool):
        raise TypeError(f"expected a bandwidth, got {value!r}")
    if isinstance(value, (int, float)):
        rate_bytes_per_s = float(value)
    elif isinstance(value, str):
        m = _BANDWIDTH.match(value)
        if not m:
            raise ValueError(_bandwidth_help(value))
        number, prefix, bit_or_byte = m.groups()
        rate = float(number)
        if bit_or_byte is None:
            scale = 1.0
        else:
            p = (prefix or "").lower()
            scale = _BIN_PREFIX[p] if p.endswith("i") else _PREFIX[p]
            if bit_or_byte == "b":
                scale /= BITS_PER_BYTE
        rate_bytes_per_s = rate * scale
    else:
        raise TypeError(_bandwidth_help(value))
    if math.isnan(rate_bytes_per_s) or rate_bytes_per_s < 0:
        raise ValueError(f"bandwidth must be non-negative, got {value!r}")
    return rate_bytes_per_s


def _bandwidth_help(value: object) -> str:
    return (
        f"{value!r} is not a bandwidth; use bytes/s as a number or a string such as "
        "'400Gbps', '400 Gb/s' (bits) or '50GB/s', '50GBps' (bytes)"
    )


def _bandwidth_validator(value: object) -> float:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return parse_bandwidth(value)
    raise ValueError(_bandwidth_help(value))


Bandwidth = Annotated[float, BeforeValidator(_bandwidth_validator), Field(gt=0)]
"""Bytes per second; accepts "400Gbps", "50GB/s" or a number of B/s."""


DEFAULT_HOST_LINK_BYTES_PER_S = 400e9 / BITS_PER_BYTE  # NDR 400 Gb/s (ConnectX-7, QM9700)


DEFAULT_SWITCH_LATENCY_S = 1e-6  # M: cut-through IB ~0.1-0.3 us, DC Ethernet ~0.5-1 us


DEFAULT_LINK_LATENCY_S = 50e-9  # M: ~10 m of fibre at ~5 ns/m


DEFAULT_INTRA_NODE_BYTES_PER_S = 450e9  # NVLink 4 (H100 SXM): 900 GB/s bidirectional per GPU


DEFAULT_SWITCH_RADIX = 64  # NVIDIA Quantum-2 QM9700: 64 x 400 Gb/s NDR ports (32 twin-port OSFP cages)


DEFAULT_PORT_BYTES_PER_S = 400e9 / BITS_PER_BYTE  # NDR 400 Gb/s per switch port (QM9700) and per ConnectX-7


class _TopologyBase(StrictModel):
    """Keys shared by every topology kind."""

    host_link_bandwidth: Bandwidth = DEFAULT_HOST_LINK_BYTES_PER_S
    """Host-to-network link, bytes/s in each direction (full duplex)."""
    link_latency_s: NonNegative = DEFAULT_LINK_LATENCY_S
    switch_latency_s: NonNegative = DEFAULT_SWITCH_LATENCY_S
    intra_node_bandwidth: Bandwidth = DEFAULT_INTRA_NODE_BYTES_PER_S
    """Fabric inside a host (NVLink/NVSwitch), bytes/s per accelerator and direction."""
    switch_radix: int = Field(default=DEFAULT_SWITCH_RADIX, ge=2)
    """Ports of one physical switch; a modelled switch stands for ceil(its ports / radix) of them."""
    port_bandwidth: Bandwidth = DEFAULT_PORT_BYTES_PER_S
    """Speed of one switch port (and one NIC port), bytes/s each way: a link of bandwidth B
    takes ceil(B / port_bandwidth) ports at each end."""


class SingleSwitchTopology(_TopologyBase):
    kind: Literal["single-switch"] = "single-switch"


class LeafSpineTopology(_TopologyBase):
    kind: Literal["leaf-spine"] = "leaf-spine"
    hosts_per_leaf: int = Field(default=32, gt=0)
    spines: int | None = Field(default=None, gt=0)
    """Modelled spine nodes (ECMP planes). None: derived from the leaves' uplink ports and the
    switch radix, ceil(uplink ports / radix), at most 16 planes (each plane then stands for
    several physical spines). A single leaf has no spines whatever this says."""
    oversubscription: float = Field(default=1.0, gt=0)
    """Leaf downlink bandwidth / leaf uplink bandwidth (1 = non-blocking)."""


class FatTreeTopology(_TopologyBase):
    kind: Literal["fat-tree"] = "fat-tree"
    k: int | None = Field(default=None, ge=2)
    """Switch radix (even). None: the smallest even k with k^3/4 >= hosts."""
    link_bandwidth: Bandwidth | None = None
    """Switch-to-switch links; None: same as host_link_bandwidth."""

    @field_validator("k")
    @classmethod
    def _even(cls, k: int | None) -> int | None:
        if k is not None and k % 2:
            raise ValueError(f"a k-ary fat-tree needs an even k, got {k}")
        return k


class TorusTopology(_TopologyBase):
    kind: Literal["torus"] = "torus"
    dims: list[Annotated[int, Field(gt=0)]] = Field(min_length=2, max_length=3)
    """[x, y] or [x, y, z]; the product must equal the number of hosts."""
    host_link_bandwidth: Bandwidth = DEFAULT_HOST_LINK_BYTES_PER_S
    """Each neighbour link (ICI), bytes/s in each direction."""


class FileTopology(_TopologyBase):
    kind: Literal["file"] = "file"
    path: str
    format: Literal["graphml", "edgelist"] | None = None
    """None: GraphML for .graphml/.xml, edge list otherwise."""


TopologyConfig = Annotated[
    SingleSwitchTopology | LeafSpineTopology | FatTreeTopology | TorusTopology | FileTopology,
    Field(discriminator="kind"),
]
"""The scenario's ``cluster.topology``: one of the kinds above, chosen by ``kind``."""


def parse_topology(data: object) -> TopologyConfig:
    """Validate a plain dict (``{"kind": "fat-tree", "k": 4}``) into a config."""
    return _TOPOLOGY_ADAPTER.validate_python(data)


class NetworkPowerModel(StrictModel):
    """Power of switches and NICs from radix, ports in use and bandwidth.

    A modelled switch (a node of the topology graph) stands for ``units``
    physical switches: ceil(its cabled ports / ``switch_radix``), where a link
    of bandwidth B takes ceil(B / ``port_bandwidth``) ports at each end
    (`sim.network.topology.annotate_ports`). Its power, with P the port speed
    in bit/s and the port scale s = P / 400 Gb/s:

        P_switch = units * switch_idle_w
                   + ports * port_electrical_j_per_bit * P
                   + s * (port_active_w * active ports + port_idle_w * idle ports)
                   + energy_per_bit_j * 8 * ingress B/s
        P_nics   = NIC ports of the hosts * (nic_w + s * host_port_w)

    This is the linear switch power model of Mahadevan, Sharma, Banerjee &
    Ranganathan, "A power benchmarking framework for network devices" (IFIP
    Networking 2009): chassis + per port at its configured speed + a small
    traffic term. A port is active when its link carries traffic either way;
    transceivers do not sleep in today's fabrics, so by default an idle port
    draws as much as an active one (set ``port_idle_w`` lower to study link
    sleep, Abts et al., "Energy proportional datacenter networks", ISCA 2010).

    Defaults, calibrated on one datasheet (NVIDIA Quantum-2 QM9700, 64 x
    400 Gb/s NDR, 1U: 747 W typical with passive cables, 1,720 W maximum with
    active cables and optics; QM9700 datasheet, power specifications) with the
    split between chassis and ports a modelling choice (M):
    * switch_idle_w 400 W (M): fans, management CPU, ASIC static power and PSU
      losses of one 51.2 Tb/s 1U switch with no port lit.
    * port_electrical_j_per_bit 11.5 pJ/bit (D): the rest of the 747 W typical
      (passive copper, no optics) after the chassis and ~50 W of traffic
      term: (747 - 400 - 50) W / 64 ports = 4.6 W per 400 Gb/s port (SerDes,
      MAC, retimers), i.e. 4.6 / 400e9 = 11.5 pJ per bit of port speed; an
      800 Gb/s port (Spectrum-4 SN5600, 64 x 800G) draws twice as much.
    * port_active_w / port_idle_w 8.5 W (P) per 400 Gb/s port-end: a
      Quantum-2 twin-port OSFP cage takes a Class 8 (17 W) transceiver for
      2 x 400G (QM97XX user manual, "Interfaces"); the single-port 400G OSFP
      on the adapter side is rated 8 W typical / 9 W max (MMA4Z00-NS400).
      Passive copper draws ~0 W: set both to 0 for a DAC-cabled fabric.
    * energy_per_bit_j 2 pJ/bit (M): the traffic-dependent part, ~100 W at a
      full 51.2 Tb/s; Mahadevan et al. 2009 found traffic changes switch
      power by a few per cent only.
      Check: 64 optics at full load give 400 + 294 + 544 + 102 = 1,340 W,
      under the 1,720 W datasheet maximum (fans at full speed, hot inlet).
    * nic_w 0 W and host_port_w 0 W: the NICs (DGX H100: 8 x ConnectX-7) and
      their transceivers sit inside the node and draw from its power supply,
      so they are already in the node types' ``host_idle_w``/``host_busy_w``
      (sim/catalog/node_types.yaml). Set e.g. ``nic_w: 20, host_port_w: 8.5``
      (ConnectX-7 adapter, 400G OSFP) for a node type whose host power
      excludes them.
    """

    switch_idle_w: float = Field(default=400.0, ge=0)
    port_electrical_j_per_bit: float = Field(default=11.5e-12, ge=0)
    port_active_w: float = Field(default=8.5, ge=0)
    port_idle_w: float = Field(default=8.5, ge=0)
    energy_per_bit_j: float = Field(default=2e-12, ge=0)
    nic_w: float = Field(default=0.0, ge=0)
    host_port_w: float = Field(default=0.0, ge=0)


class NetworkConfig(StrictModel):
    """The scenario's ``network:`` section (the fabric itself is ``cluster.topology``).

    model: "flow" puts jobs' collectives on the routed topology with max-min
        fair sharing; "off" makes communication free (compute only) and books no
        network power. Without ``cluster.topology`` there is no network model.
    ecmp: spread flows over equal-cost paths (per-flow hash) or route each
        host pair on one path.
    overlap: share of a step's compute time that hides communication,
        exposed = max(0, t_comm - overlap * t_compute). 0 = none (conservative);
        PyTorch DDP overlaps the all-reduce with the backward pass (about 2/3 of
        compute), so up to ~0.6 (Li et al., "PyTorch Distributed", VLDB 2020).
    collective: all-reduce algorithm of synchronous multi-node jobs.
    staleness_penalty, staleness_max_factor: the asynchronous staleness cost
        f(tau) = 1 + (F - 1) tau / (tau + (F - 1) / kappa), slope kappa at tau = 0,
        saturating at F (sim/compute/async_training.py has the sources).
    staleness_bound: SSP bound s in clocks (Ho et al., NIPS 2013); None = fully
        asynchronous (ASP). With a bound, no worker runs more than s steps ahead
        of the slowest, so in the fluid model every worker runs at the slowest
        one's speed and no update is staler than the equal-speed W - 1.
    parameter_servers: server shards of an asynchronous job, one per host on
        the job's first hosts (co-located with workers, as MXNet KVStore and
        BytePS place them); None = one per host of the job, at most 64.
    power: switch and NIC power (see `NetworkPowerModel`, booked by `sim.network.power.network_power_w`).
    """

    model: Literal["flow", "off"] = "flow"
    ecmp: bool = True
    overlap: Fraction = 0.0
    collective: Literal["ring", "hierarchical", "tree"] = "hierarchical"
    staleness_penalty: NonNegative = Field(
        default=0.03, description="kappa: slope of the async staleness cost at tau = 0 (per update of staleness)")
    staleness_max_factor: float = Field(
        default=2.0, ge=1.0, description="F: the async staleness cost saturates at this work factor")
    staleness_bound: int | None = Field(
        default=None, ge=1, description="SSP bound in clocks (>= 1; 0 would be mode: sync); None = ASP")
    parameter_servers: int | None = Field(default=None, ge=1, description="async server shards; None = auto")
    power: NetworkPowerModel = Field(default_factory=NetworkPowerModel)

    @field_validator("model", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as False (and `on` as True)
        return {False: "off", True: "flow"}.get(value, value) if isinstance(value, bool) else value


_TOPOLOGY_ADAPTER: TypeAdapter[TopologyConfig] = TypeAdapter(TopologyConfig)
