"""Safe YAML for scenario files, built straight from libyaml's parser events.

`yaml.load(text, Loader=CSafeLoader)` parses in C but composes a node per value
(two `Mark` objects each), resolves every plain scalar's tag with a regex loop
and then constructs the Python values by recursive generators: about 1.7 s CPU
for a 1 MB job list. This module reads the same parser events and builds the
values in one iterative pass: a plain scalar's value is resolved and constructed
once per distinct text (a job list repeats its keys and most of its values), no
node graph is kept, and the nesting depth is checked as containers open. Same
document, same values, about 0.3 s (benchmarks/README.md, bench_validate).

Semantics are PyYAML's `SafeLoader` (YAML 1.1 implicit types: null, bool, int,
float, timestamp; the safe tags `!!str !!int !!float !!bool !!null !!binary
!!timestamp !!seq !!map !!set !!omap !!pairs`; anchors and aliases share one
object; merge keys `<<`; a single document), checked against `CSafeLoader` in
tests/test_yaml_load.py. One deliberate difference: with several merge sources
(`<<: [*a, *b]`) the first that has a key wins, as the YAML merge-key spec says;
PyYAML 6.0 lets a later source win for keys longer than one character (its
de-duplication compares key objects by identity, and CPython shares only the
one-character strings). Every other tag is refused ("could not determine a
constructor for the tag"), so no tag builds a Python object. Errors are PyYAML's
own (`MarkedYAMLError` with line and column); a bad `!!bool` value is a
`ConstructorError` here, where PyYAML raises a bare `KeyError`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from sim.spec.errors import ScenarioError

__all__ = ["depth_message", "load_yaml"]

_T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = _T + "str", _T + "int", _T + "float", _T + "bool", _T + "null"
TIMESTAMP, BINARY, MERGE, VALUE = _T + "timestamp", _T + "binary", _T + "merge", _T + "value"
SEQ, MAP, SET, OMAP, PAIRS = _T + "seq", _T + "map", _T + "set", _T + "omap", _T + "pairs"

_SCALAR_TAGS = {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP, BINARY}
_SEQ_TAGS = {SEQ, OMAP, PAIRS}
_MAP_TAGS = {MAP, SET}
_KIND_OF = {**dict.fromkeys(_SCALAR_TAGS, "scalar"), **dict.fromkeys(_SEQ_TAGS, "sequence"),
            **dict.fromkeys(_MAP_TAGS, "mapping")}

_IMPLICIT = Resolver.yaml_implicit_resolvers
_WILDCARD = _IMPLICIT.get(None, [])
_CONSTRUCTOR = SafeConstructor()
_MERGE_KEY = object()  # the pending key of a mapping is a merge key `<<`


class _Special:
    """A plain scalar whose tag has no value of its own: `<<` (merge) or `=` (value)."""

    def __init__(self, tag: str, text: str) -> None:
        self.tag = tag
        self.text = text


def depth_message(max_depth: int) -> str:
    return f"nested more than {max_depth} levels deep; a scenario needs about 6"


def _event_source(text: str) -> Callable[[], Any]:
    """libyaml's parser (the pure-Python one when PyYAML was built without it)."""
    c_parser = getattr(getattr(yaml, "_yaml", None), "CParser", None)
    if c_parser is not None:
        return c_parser(text).get_event  # type: ignore[no-any-return]
    return yaml.SafeLoader(text).get_event


def _undefined(tag: str, mark: Any) -> ConstructorError:
    return ConstructorError(None, None, f"could not determine a constructor for the tag {tag!r}", mark)


def _construct_scalar(tag: str, value: str, ev: Any) -> Any:
    """A scalar under an explicit or resolved core tag, constructed as SafeConstructor does."""
    if tag == STR:
        return value
    if tag == NULL:
        return None
    if tag == BOOL:
        try:
            return SafeConstructor.bool_values[value.lower()]
        except KeyError:
            raise ConstructorError(None, None, f"{value!r} is not a boolean (true/false, yes/no, on/off)",
                                   ev.start_mark) from None
    node = ScalarNode(tag, value, ev.start_mark, ev.end_mark)
    if tag == INT:
        return _CONSTRUCTOR.construct_yaml_int(node)
    if tag == FLOAT:
        return _CONSTRUCTOR.construct_yaml_float(node)
    if tag == TIMESTAMP:
        return _CONSTRUCTOR.construct_yaml_timestamp(node)
    try:  # BINARY
        return base64.decodebytes(value.encode("ascii"))
    except (UnicodeEncodeError, ValueError) as exc:
        raise ConstructorError(None, None, f"failed to decode base64 data: {exc}", ev.start_mark) from None


#: plain scalars that YAML 1.1 resolves to int or float and Python's int()/float() read alike
#: (a subset of the Resolver's patterns: no sign-only, octal, binary, hex, '_' or sexagesimal forms)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_DECIMAL_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?\Z")
#: a plain date, which the Resolver's timestamp pattern takes and SafeConstructor builds as a date
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")


def _plain(text: str, ev: Any) -> Any:
    """The value of a plain scalar: decimal numbers directly, the rest by the resolver's tag."""
    if _DECIMAL.match(text):
        return int(text)
    if _DECIMAL_FLOAT.match(text):
        return float(text)
    m = _DATE.match(text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    tag = _resolve_plain(text)
    return _Special(tag, text) if tag in (MERGE, VALUE) else _construct_scalar(tag, text, ev)


def _resolve_plain(value: str) -> str:
    """The implicit tag of a plain scalar (YAML 1.1 as PyYAML's Resolver has it)."""
    for tag, regexp in _IMPLICIT.get(value[0] if value else "", []) + _WILDCARD:
        if regexp.match(value):
            return tag  # type: ignore[no-any-return]
    return STR


class _Frame:
    """An open sequence or mapping."""

    __slots__ = ("obj", "is_map", "key", "has_key", "tag", "anchor", "mark", "merges")

    def __init__(self, obj: Any, is_map: bool, tag: str, anchor: str | None, mark: Any) -> None:
        self.obj = obj
        self.is_map = is_map
        self.key: Any = None
        self.has_key = False
        self.tag = tag
        self.anchor = anchor
        self.mark = mark
        self.merges: list[tuple[Any, Any]] | None = None  # (value of a `<<` key, its mark)


def _unhashable(frame: _Frame, mark: Any) -> ConstructorError:
    return ConstructorError("while constructing a mapping", frame.mark, "found unhashable key", mark)


def _kind(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "sequence" if isinstance(value, list) else "scalar"


def _merge(frame: _Frame) -> None:
    """Apply the frame's merge keys: merged keys first, the mapping's own keys win; among several
    sources the first that has a key wins (the YAML merge-key spec)."""
    own = dict(frame.obj)
    merged: dict[Any, Any] = {}
    for value, mark in frame.merges or ():
        sources = value if isinstance(value, list) else [value]
        if not isinstance(value, (list, dict)):
            raise ConstructorError("while constructing a mapping", frame.mark,
                                   f"expected a mapping or list of mappings for merging, but found {_kind(value)}",
                                   mark)
        for src in sources:
            if not isinstance(src, dict):
                raise ConstructorError("while constructing a mapping", frame.mark,
                                       f"expected a mapping for merging, but found {_kind(src)}", mark)
            if src is frame.obj:
                raise ConstructorError("while constructing a mapping", frame.mark,
                                       "a mapping cannot merge itself", mark)
            for k, v in src.items():
                merged.setdefault(k, v)
    frame.obj.clear()
    frame.obj.update(merged)
    frame.obj.update(own)


def _finish(frame: _Frame) -> Any:
    """The value of a closed container under its tag."""
    obj = frame.obj
    if frame.merges:
        _merge(frame)
    tag = frame.tag
    if tag == SET:
        return set(obj)
    if tag in (OMAP, PAIRS):
        what = "an ordered map" if tag == OMAP else "pairs"
        out = []
        for item in obj:
            if not isinstance(item, dict) or len(item) != 1:
                found = f"a mapping of {len(item)} keys" if isinstance(item, dict) else _kind(item)
                raise ConstructorError(f"while constructing {what}", frame.mark,
                                       f"expected a mapping of length 1, but found {found}", frame.mark)
            out.append(next(iter(item.items())))
        return out
    return obj


def load_yaml(text: str, max_depth: int) -> tuple[Any, bool]:
    """The single YAML document in `text` as plain values, and whether it used aliases.

    Raises `yaml.MarkedYAMLError` (syntax, composition, construction: line and
    column) and ScenarioError when containers nest deeper than `max_depth`
    (checked as they open, so a deep document costs only its first levels).
    """
    get_event = _event_source(text)
    get_event()  # StreamStartEvent
    start = get_event()
    if type(start) is StreamEndEvent:
        return None, False
    cache: dict[str, Any] = {}  # plain scalar text -> value (immutable: str, int, float, bool, None, date)
    anchors: dict[str, tuple[Any, Any]] = {}  # name -> (value, mark of its first occurrence)
    stack: list[_Frame] = []
    aliased = False
    root: Any = None
    while True:
        ev = get_event()
        kind = type(ev)
        anchor = None
        if kind is ScalarEvent:
            tag = ev.tag
            text_ = ev.value
            if tag is None or tag == "!":
                if ev.implicit[0]:
                    try:
                        value = cache[text_]
                    except KeyError:
                        value = cache[text_] = _plain(text_, ev)
                else:
                    value = text_
            elif tag in _SCALAR_TAGS:
                value = _construct_scalar(tag, text_, ev)
            elif tag in _KIND_OF:
                raise ConstructorError(None, None, f"expected a {_KIND_OF[tag]} node, but found scalar",
                                       ev.start_mark)
            else:
                raise _undefined(tag, ev.start_mark)
            anchor = ev.anchor
            mark = ev.start_mark
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            is_map = kind is MappingStartEvent
            tag = ev.tag
            if tag is None or tag == "!":
                tag = MAP if is_map else SEQ
            elif tag not in _KIND_OF:
                raise _undefined(tag, ev.start_mark)
            elif tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                raise ConstructorError(None, None, f"expected a {_KIND_OF[tag]} node, but found "
                                       f"{'mapping' if is_map else 'sequence'}", ev.start_mark)
            if len(stack) >= max_depth:
                raise ScenarioError(depth_message(max_depth))
            frame = _Frame({} if is_map else [], is_map, tag, ev.anchor, ev.start_mark)
            if ev.anchor is not None:
                if ev.anchor in anchors:
                    raise ComposerError(f"found duplicate anchor {ev.anchor!r}; first occurrence",
                                        anchors[ev.anchor][1], "second occurrence", ev.start_mark)
                anchors[ev.anchor] = (frame.obj, ev.start_mark)
            stack.append(frame)
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            frame = stack.pop()
            value = _finish(frame)
            mark = frame.mark
            if frame.anchor is not None and value is not frame.obj:
                anchors[frame.anchor] = (value, frame.mark)
        elif kind is AliasEvent:
            if ev.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {ev.anchor!r}", ev.start_mark)
            value = anchors[ev.anchor][0]
            aliased = True
            mark = ev.start_mark
        elif kind is DocumentEndEvent:
            break
        else:  # pragma: no cover - libyaml emits nothing else inside a document
            raise ComposerError(None, None, f"unexpected {kind.__name__}", getattr(ev, "start_mark", None))
        if anchor is not None:
            if anchor in anchors:
                raise ComposerError(f"found duplicate anchor {anchor!r}; first occurrence", anchors[anchor][1],
                                    "second occurrence", mark)
            anchors[anchor] = (value, mark)
        if not stack:
            root = value
            continue
        parent = stack[-1]
        if not parent.is_map:
            if type(value) is _Special:
                raise _undefined(value.tag, mark)
            parent.obj.append(value)
        elif not parent.has_key:
            if type(value) is _Special:
                if value.tag == VALUE:  # `=` as a key is the string "="
                    value = value.text
                else:
                    parent.key = _MERGE_KEY
                    parent.has_key = True
                    continue
            try:
                hash(value)
            except TypeError:
                raise _unhashable(parent, mark) from None
            parent.key = value
            parent.has_key = True
        else:
            if type(value) is _Special:
                raise _undefined(value.tag, mark)
            if parent.key is _MERGE_KEY:
                if parent.merges is None:
                    parent.merges = []
                parent.merges.append((value, mark))
            else:
                parent.obj[parent.key] = value
            parent.has_key = False
    end = get_event()
    if type(end) is not StreamEndEvent:
        raise ComposerError("expected a single document in the stream", start.start_mark,
                            "but found another document", end.start_mark)
    return root, aliased
