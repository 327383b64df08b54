"""Where the project's bundled files live: the one place that knows.

wattsim is used from its repository (``make run``; an editable install), so
bundled data sits in ``<repo>/data`` and the ready scenarios in
``<repo>/scenarios``, next to the ``sim`` package.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_path(*parts: str) -> Path:
    """A file or folder under the project's ``data/`` folder."""
    return REPO_ROOT.joinpath("data", *parts)


def scenarios_path(*parts: str) -> Path:
    """A file or folder under the project's ``scenarios/`` folder."""
    return REPO_ROOT.joinpath("scenarios", *parts)
