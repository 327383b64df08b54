"""The error a scenario raises: light to import, so the CLI can catch it before loading anything heavy."""


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names where and why, one line each."""
