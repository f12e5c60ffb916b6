"""The method registry: every ``compt/methods/<name>.py`` registers one ``Method``.

Config choices, help texts, the report's row order and the TUI all read ``names()``, so
adding a method means adding its module (and a test) and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from compt.errors import ComptError
from compt.methods.base import Method

_REGISTRY: dict[str, Method] = {}
_discovered = False


def register(method: Method) -> Method:
    if method.name in _REGISTRY:
        raise ValueError(f"method {method.name!r} is registered twice")
    _REGISTRY[method.name] = method
    return method


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")


def all_methods() -> list[Method]:
    """Every method in table order (pt first, then the baselines, then the compositions)."""
    _discover()
    return sorted(_REGISTRY.values(), key=lambda m: m.order)


def names() -> tuple[str, ...]:
    return tuple(m.name for m in all_methods())


def get_method(name: str) -> Method:
    _discover()
    if name not in _REGISTRY:
        raise ComptError(f"Unknown method {name!r}; known methods: {', '.join(names())}.")
    return _REGISTRY[name]


def lookup(name: object) -> Method | None:
    """The method called ``name``, or None (e.g. a run made by a newer compt)."""
    _discover()
    return _REGISTRY.get(name) if isinstance(name, str) else None


def help_text() -> str:
    """'pt, mtpt, …' for option help strings."""
    return ", ".join(names())


__all__ = ["Method", "all_methods", "get_method", "help_text", "lookup", "names", "register"]
