"""LLM inference serving: request streams, continuous batching, prefill and decode, energy per token.

Modules: `architectures` (model shapes), `requests` (traces, generators),
`perf` (speed and power of a replica), `engine` (the event-driven engine),
`deployment` (scenario section -> engine, checks, batch limit), `run`
(a deployment on its own ledger). The scenario section is
`sim.spec.serving`; the tables are built by `sim.results.serving`. See
docs/serving.md.
"""
