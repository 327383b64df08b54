"""The world: builds every component from a Scenario, runs SimPy, makes a Result.

Data flows one way: Scenario -> World (SimPy components) -> Result. The
components meet only through narrow interfaces: the ledger (`Meter.set`), the
plant contracts (`sim.engine.contracts`), the policy protocols (`sim.scheduling`) and
the training runtime.
"""

from __future__ import annotations

import math
import time
from operator import attrgetter

import numpy as np
import simpy
from simpy.core import URGENT

from sim.catalog import Catalog, load_catalog
from sim.compute.node import Node, make_power_model
from sim.compute.training import Job, JobState, TrainingRuntime, call_at
from sim.engine.caps import PowerCaps
from sim.engine.environment import CountingEnvironment
from sim.engine.meter import Meter
from sim.engine.plant_loop import Plant
from sim.engine.record import JobRecords, NodeRecord, RunRecord, job_columns
from sim.engine.stops import RunTimeout, SameInstantLoop
from sim.facility.cooling import build_cooling, zone_of_nodes
from sim.facility.site import Site
from sim.facility.supply import build_supply
from sim.facility.weather import Weather, load_weather
from sim.network.fabric import build_network
from sim.results.result import Result, build_result
from sim.scheduling import Scheduler, make_policy
from sim.serving.deployment import build_engine
from sim.serving.engine import ServingEngine
from sim.spec.scenario import Scenario, ScenarioError
from sim.workload.jobs import dependency_ids, generate, job_from_spec, jobs_from_trace, paused_gc


class World:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        s = scenario
        self.env = CountingEnvironment()
        self.meter = Meter(self.env.clock)
        self.catalog: Catalog = load_catalog().with_extra(
            accelerators=s.catalog.accelerators, node_types=s.catalog.node_types, models=s.catalog.models
        )
        self.rng = np.random.default_rng(s.seed)
        self.nodes: list[Node] = []
        try:  # thermal zones of the plant, in blocks of node indices (None: one hall)
            zone_of = zone_of_nodes(s.cooling, sum(pool.nodes for pool in s.cluster.node_pools()))
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
        for p, pool in enumerate(s.cluster.node_pools()):
            nt = self.catalog.node_type(pool.node_type)
            acc = self.catalog.accelerator(nt.accelerator)
            curve = make_power_model(acc, s.cluster.power_model)  # one per pool: memos key on it
            for _ in range(pool.nodes):
                zone = zone_of[len(self.nodes)] if zone_of is not None else None
                self.nodes.append(Node(len(self.nodes), p, nt, acc, self.meter, zone=zone, curve=curve))
        self.caps = PowerCaps(s.cluster.power_cap_w)  # every cap source, combined in one place
        self.runtime = TrainingRuntime(
            self.env,
            default_mfu=lambda node: node.accelerator.default_mfu,
            cap_w=self.caps.cap_w,
        )
        self.topology, self.comm = build_network(
            s.cluster.topology, s.network, self.env, self.meter, self.nodes, self.runtime)
        self.scheduler = Scheduler(
            self.env,
            self.nodes,
            self.runtime,
            make_policy("queue", s.scheduler.queue, s.scheduler.queue_options),
            make_policy("placement", s.scheduler.placement, s.scheduler.placement_options),
            self.meter,
            config=s.scheduler,
            seed=s.seed,
        )
        self.jobs = self._make_jobs()
        self.scheduler.add_jobs(self.jobs)  # predecessors (`after`) may arrive after their dependents
        self._outstanding = len(self.jobs)
        self.all_done = self.env.event()
        self.scheduler.on_idle = self._job_ended
        horizon = self.horizon_s = s.horizon_s
        step = s.plant.step
        self.serving: ServingEngine | None = None  # an LLM inference deployment on its own nodes
        if s.serving is not None:
            try:
                self.serving = build_engine(s.serving, self.meter, horizon, s.seed, self.catalog,
                                            s.start_ts.hour + s.start_ts.minute / 60.0, s.start_ts.weekday())
            except ValueError as exc:
                raise ScenarioError(str(exc)) from None
            if s.duration == "until-done":
                self.serving.horizon = math.inf  # the autoscaler stops once the last request has ended
        self._weather: dict[str, Weather] = {}  # by source, read only if a model asks
        it_capacity_w = sum(
            n.slots * n.accelerator.tdp_w + n.node_type.host_busy_w for n in self.nodes
        ) + (self.serving.capacity_w if self.serving is not None else 0.0)
        self.it_capacity_w = it_capacity_w
        # the cooling plant is sized on the facility's whole IT nameplate: nodes, serving and network
        facility_it_w = it_capacity_w + (self.comm.nameplate_w if self.comm is not None else 0.0)
        try:  # the builders read weather and traces: what they refuse is bad input, said plainly
            self.cooling = build_cooling(s.cooling, s.start_ts, horizon, step, facility_it_w,
                                         self._cooling_weather, self._zone_capacity_w(zone_of))
            self.supply = build_supply(s.supply, s.start_ts, horizon, step, self._supply_weather)
        except (ValueError, FileNotFoundError) as exc:
            hint = ""
            if s.duration == "until-done":
                hint = (f" (duration: until-done builds inputs for up to max_duration = "
                        f"{s.max_duration / 86400:g} d; set max_duration to what the run needs)")
            raise ScenarioError(f"{exc}{hint}") from None
        self.plant = Plant(self.env, self.meter, self.cooling, self.supply, step, self._set_thermal_limit,
                           it_nameplate_w=facility_it_w, horizon_s=horizon)
        graph = self.topology if self.topology is not None and hasattr(self.topology, "nodes") else None
        zone_temp = getattr(self.cooling, "zone_temp_c", None)
        self.scheduler.bind(caps=self.caps, start=s.start_ts, horizon_s=horizon, topology=graph,
                            zone_temp_c=zone_temp if callable(zone_temp) else None,
                            carbon=getattr(self.supply, "carbon", None),
                            serving_it_w=(lambda: self.serving.it_power_w) if self.serving is not None else None)
        if self.comm is not None and self.scheduler.controls:
            # controls that bound IT power see the network power of flows committed after they ran
            self.comm.after_flush = self.scheduler._controls_changed
        self.end_s = 0.0
        self._serving_done = False
        self.wall_s = 0.0
        self.stopped = ""  # 'timeout' or 'interrupted' when run(partial=True) stopped early

    # -- construction helpers -------------------------------------------------
    def _weather_of(self, *sources: str | None, default: str | None = "tmy3-greensboro-nc") -> Weather:
        """The first named weather source (else ``default``), read once per run, at the
        scenario's ``site`` when it has one."""
        source = next((x for x in sources if x), default)
        if source is None:
            raise ValueError(
                "supply.weather: PV, wind and a pv/wind PPA need the weather of the site; set supply.weather"
                " to a bundled name (epw-amsterdam-nl, pvgis-piedmont-it, tmy3-greensboro-nc, ...) or a"
                " TMY3, EPW, PVGIS or CSV file (there is no default site)"
            )
        if source not in self._weather:
            s = self.scenario
            site = (Site(s.site.latitude, s.site.longitude, s.site.altitude_m, s.site.tz, s.site.name)
                    if s.site is not None else None)
            self._weather[source] = load_weather(source, s.start_ts, s.horizon_s, s.plant.step, site=site)
        return self._weather[source]

    def _cooling_weather(self) -> Weather:
        """Cooling uses `cooling.weather`, else the supply's, so one `weather` serves both."""
        s = self.scenario
        return self._weather_of(getattr(s.cooling, "weather", None), getattr(s.supply, "weather", None))

    def _supply_weather(self) -> Weather:
        """The supply's weather, else the cooling's; never a default site."""
        s = self.scenario
        return self._weather_of(getattr(s.supply, "weather", None), getattr(s.cooling, "weather", None),
                                default=None)

    def _zone_capacity_w(self, zone_of: list[int] | None) -> list[float] | None:
        """IT nameplate of each thermal zone (sizes its air volume and airflow)."""
        if zone_of is None:
            return None
        out = [0.0] * (max(zone_of) + 1)
        for n in self.nodes:
            out[n.zone] += n.slots * n.accelerator.tdp_w + n.node_type.host_busy_w
        return out

    def _make_jobs(self) -> list[Job]:
        s = self.scenario
        reference = self.nodes[0].accelerator
        node_type = self.nodes[0].node_type
        with paused_gc():  # jobs by the million: no collector passes over them while they are built
            jobs = [job_from_spec(i, spec, self.catalog, reference, node_type)
                    for i, spec in enumerate(s.workload.jobs)]
            for job, after in zip(jobs, dependency_ids(s.workload.jobs)):
                job.after = after
            if s.workload.trace is not None:
                jobs += jobs_from_trace(s.workload.trace, self.catalog, self.rng, len(jobs), reference)
            start_hour = s.start_ts.hour + s.start_ts.minute / 60.0
            for gen in s.workload.all_generators():
                jobs += generate(gen, s.horizon_s, self.rng, len(jobs), reference, self.catalog, start_hour)
            jobs.sort(key=attrgetter("submit_s", "id"))
        return jobs

    # -- power caps ------------------------------------------------------------
    def _set_thermal_limit(self, fraction: float, zone_fractions: tuple[float, ...] | None = None) -> None:
        self.caps.set_thermal(fraction, zone_fractions)
        self.runtime.update_all()
        # a lifted thermal limit raises accelerator power: the site envelope must re-cap
        self.scheduler._controls_changed()

    # -- running -----------------------------------------------------------------
    def start_arrivals(self) -> None:
        """Schedule the jobs' arrivals (`run` does; a test that steps the world by hand may)."""
        first = simpy.Event(self.env)  # urgent at now, as a process's start would be
        first._ok, first._value = True, None
        self._next_arrival = 0
        first.callbacks.append(self._arrive)
        self.env.schedule(first, URGENT)

    def _arrive(self, _event: object = None) -> None:
        """Submit every job due now from `self.jobs[self._next_arrival]` on, then wait for the next
        one (one event per arrival instant, no process: one bare event at its exact submit time)."""
        env = self.env
        jobs = self.jobs
        horizon = self.horizon_s
        submit = self.scheduler.submit
        now = env.now
        i = self._next_arrival
        while i < len(jobs):
            job = jobs[i]
            if job.submit_s >= horizon:
                return
            if job.submit_s > now:
                self._next_arrival = i
                call_at(env, job.submit_s, self._arrive)
                return
            # now + (submit - now) can miss submit by an ulp: the job arrives now, so a
            # start at this instant never reads as a negative wait
            job.submit_s = float(now)
            submit(job)
            i += 1

    def _job_ended(self) -> None:
        self._outstanding -= 1
        self._maybe_all_done()

    def _maybe_all_done(self) -> None:
        serving_left = self.serving is not None and not self._serving_done
        if self._outstanding <= 0 and not serving_left and self.scenario.duration == "until-done" \
                and not self.all_done.triggered:
            self.all_done.succeed()

    def _serve(self):
        """The serving engine on the world's clock; until-done also waits for its last request."""
        assert self.serving is not None
        yield from self.serving.process(self.env)
        self._serving_done = True
        self._maybe_all_done()

    def run(self, wall_limit_s: float | None = None, partial: bool = False) -> World:
        """Run to the horizon (or until every job has ended) and close the books.

        `wall_limit_s`: raise `RunTimeout` if the run takes longer than this
        (sweeps use it to record a run that hangs as failed and go on). With
        `partial`, a run stopped by the limit or by `env.interrupt()` (Ctrl-C) closes
        its books at the instant it stopped instead, and `stopped` says why.
        """
        t_wall = time.perf_counter()
        env = self.env
        if wall_limit_s is not None:
            env.deadline = t_wall + wall_limit_s
        self.start_arrivals()
        env.process(self.plant.run())
        self._serving_done = False
        if self.serving is not None:
            env.process(self._serve())
        horizon = self.scenario.horizon_s
        stop = env.timeout(horizon)
        try:
            if self.scenario.duration == "until-done":
                if not self.jobs and self.serving is None:
                    self.all_done.succeed()
                env.run(until=env.any_of([stop, self.all_done]))
            else:
                env.run(until=stop)
        except RunTimeout:
            if not partial:
                raise
            self.stopped = env.stop_reason
        self.end_s = float(env.now)
        for job in list(self.runtime.running.values()):
            self.runtime._book(job)
        if self.serving is not None:
            self.serving.close(self.end_s)
        self.plant.close_step(self.end_s)
        self.plant.flush()
        self.meter.close_all(self.end_s)
        self.wall_s = time.perf_counter() - t_wall
        return self

    def record(self) -> RunRecord:
        """The run as plain data (after `run`): what `build_result` needs, nothing live."""
        m = self.meter
        end = self.end_s
        jobs = self._job_records()
        nodes = [
            NodeRecord(
                name=n.name, node_type=n.node_type.key, accelerator=n.accelerator.key, pool=n.pool,
                accelerators=n.slots, accelerator_energy_j=m.integral(n.acc_channel, end),
                host_energy_j=m.integral(n.host_channel, end), busy_accelerator_s=m.integral(n.busy_channel, end),
            )
            for n in self.nodes
        ]
        summary = getattr(self.supply, "summary", None)
        return RunRecord(
            scenario=self.scenario, ledger=m, end_s=end, wall_s=self.wall_s,
            events=self.env.events_processed, jobs=jobs, nodes=nodes,
            components={"cooling": self.cooling.config(), "supply": self.supply.config()},
            supply_summary=summary() if summary is not None else None,
            it_capacity_w=self.it_capacity_w,
            serving=self.serving, stopped=self.stopped,
        )

    def _job_records(self) -> JobRecords:
        """Every job's end state as columns, no object per job (issue 14)."""
        jobs = self.jobs
        done = JobState.COMPLETED
        completed = np.fromiter((j.state is done for j in jobs), dtype=bool, count=len(jobs))
        alone = np.full(len(jobs), np.nan)
        if completed.any():
            est = self.scheduler.estimator
            assert est is not None  # a completed job ran on a node, so there is a reference node
            alone[completed] = est.true_totals([j for j in jobs if j.state is done])
        return job_columns(jobs, self.meter.attributed_j, alone)

    def result(self) -> Result:
        """The Result of the run (after `run`), built from its record."""
        return build_result(self.record())


def simulate(scenario: Scenario) -> Result:
    """Run a scenario and return its `Result`."""
    return World(scenario).run().result()


__all__ = ["CountingEnvironment", "RunTimeout", "SameInstantLoop", "World", "simulate"]
