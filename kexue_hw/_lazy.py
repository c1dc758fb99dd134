"""Package attributes that import their module on first use (PEP 562), so importing a package stays cheap."""

from __future__ import annotations

import importlib

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` whose name ``n`` lives in module ``exports[n]``.

    Module names are relative to the package: ``"ops"`` is ``package.ops``, ``"..arith"`` a
    sibling. A name is imported once and then kept in the package's namespace.
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str):
        if name in exports:
            module = exports[name]
            value = getattr(importlib.import_module(module if module.startswith(".") else "." + module, package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__
