"""Load a user's class or function named 'package.module:Name'.

A scenario names a user's own policy, cooling model or supply model this
way, and the simulator needs no edit (STYLE.md: register by name, next to the
class; no string switches). The module must be importable: installed, on
PYTHONPATH, or in the folder the run starts from.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
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


class Registry(dict[str, type]):
    """Classes a scenario finds by name: the registered built-ins, or 'package.module:Class'.

    One per noun (battery dispatch, scheduler control, accelerator power model).
    `check(cls)` returns what a user's class lacks (None when it will do), so a
    bad class is refused when the scenario loads, not in the middle of a run.
    """

    def __init__(self, noun: str, check: Callable[[type], str | None]) -> None:
        super().__init__()
        self.noun = noun
        self._check = check

    def register(self, name: str) -> Callable[[type], type]:
        """Class decorator: make the class available under `name`."""

        def deco(cls: type) -> type:
            self[name] = cls
            return cls

        return deco

    def resolve(self, name: str) -> type:
        """The class registered as `name` or imported from 'package.module:Class'; ValueError saying why not."""
        if name in self:
            return self[name]
        if ":" not in name:
            known = ", ".join(sorted(self))
            raise ValueError(f"{name!r} is not a {self.noun}; known: {known}, or 'package.module:Class'")
        cls = import_object(name)
        problem = self._check(cls)
        if problem:
            raise ValueError(f"{name!r} {problem}")
        return cls
