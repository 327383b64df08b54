"""Load a user's class or function named 'package.module:Name'.

A scenario names a user's own policy, cooling model or supply model this
way, and the simulator needs no edit (STYLE.md: register by name, next to the
class; no string switches). The module must be importable: installed, on
PYTHONPATH, or in the folder the run starts from.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

#: 'package.module:Name'
PLUGIN_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_plugin_name(name: object) -> bool:
    return isinstance(name, str) and bool(PLUGIN_PATTERN.match(name))


def import_object(name: str) -> Any:
    """The object 'package.module:Name' names; ValueError saying why it cannot be loaded."""
    if not is_plugin_name(name):
        raise ValueError(f"{name!r} is not of the form 'package.module:Name'")
    module, _, attr = name.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"{name!r}: module {module!r} cannot be imported ({exc})") from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise ValueError(f"{name!r}: module {module!r} has no {attr!r}") from None
