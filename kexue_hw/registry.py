"""Per-spec-type registries: how a face files its implementation of each unit family.

A face keeps one :class:`SpecRegistry` and registers an implementation per spec
class (as torchao registers a handler per config type)::

    GOLDEN = SpecRegistry("the golden model")

    @GOLDEN.register(FloatMitchell)
    class _FloatGolden: ...

``GOLDEN.lookup(unit)`` returns the implementation of ``type(unit)`` or of its
nearest registered base class (so one entry for :class:`~kexue_hw.spec.IntUnit`
serves every integer family that has no entry of its own) and raises
:class:`~kexue_hw.spec.SpecError` naming the face when there is none. A new unit
family is added by registering it in each face's registry, in one place per face.
"""

from __future__ import annotations

from typing import Any

from .spec import SpecError, Unit

__all__ = ["SpecRegistry"]


class SpecRegistry:
    """Implementations of one face, keyed by spec class (looked up along the class hierarchy)."""

    def __init__(self, face: str):
        self.face = face
        self._impls: dict[type, Any] = {}

    def register(self, spec_type: type, impl: Any = None):
        """File ``impl`` for ``spec_type``; without ``impl``, a decorator that files what it decorates."""
        if impl is None:
            return lambda obj: self.register(spec_type, obj)
        if not (isinstance(spec_type, type) and issubclass(spec_type, Unit)):
            raise TypeError(f"{self.face}: register takes a unit spec class, got {spec_type!r}")
        self._impls[spec_type] = impl
        return impl

    def lookup(self, unit) -> Any:
        """The implementation for ``unit`` (a spec instance); :class:`SpecError` when the face has none."""
        if not isinstance(unit, Unit):
            raise SpecError(f"not a unit spec: {unit!r}")
        for cls in type(unit).__mro__:
            if cls in self._impls:
                return self._impls[cls]
        covered = ", ".join(sorted(c.__name__ for c in self._impls))
        raise SpecError(f"{self.face} does not cover {type(unit).__name__} units (it covers {covered})")

    def covers(self, unit) -> bool:
        return isinstance(unit, Unit) and any(cls in self._impls for cls in type(unit).__mro__)

    @property
    def types(self) -> tuple[type, ...]:
        return tuple(self._impls)
