"""LLM inference serving: request streams, continuous batching, prefill and decode, energy per token.

Modules: `architectures` (model shapes), `requests` (traces, generators),
`perf` (speed and power of a replica), `engine` (the event-driven engine),
`deployment` (config -> engine), `results` (tables), `run` (standalone runs),
`config` (the scenario section). See docs/serving.md.
"""
