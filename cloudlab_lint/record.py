"""`@record`: a small value class that costs nothing to define.

`dataclasses.dataclass` writes and compiles each class's methods when its module is imported: about
1.3 ms a class, and a commit hook imports some thirty of them (~40 ms of a ~250 ms run). `@record`
gives the classes a run builds only a few times the same behaviour (construction by position or
keyword, defaults and `factory` defaults, immutability unless `mutable=True`, equality, hashing, the
dataclass `repr`, `replace`) through shared methods instead. The Flux model's classes, built thousands
of times per run and only when the tree is judged, stay dataclasses: their generated `__init__` is
faster. Location, Hit and Document, built thousands of times in every run, are `Value`s (below).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def factory(make: Callable[[], T]) -> T:
    """A default made afresh for every instance (`dataclasses.field(default_factory=...)`)."""
    return _Factory(make)  # type: ignore[return-value]


@overload
def record(cls: type[T], /) -> type[T]: ...
@overload
def record(*, mutable: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(factory,))
def record(cls: type[T] | None = None, /, *, mutable: bool = False) -> Any:
    def build(cls: type[T]) -> type[T]:
        klass: Any = cls
        names = tuple(cls.__dict__.get("__annotations__", {}))
        defaults = {}
        for name in names:
            if name in cls.__dict__:
                defaults[name] = cls.__dict__[name]
                if isinstance(defaults[name], _Factory):
                    delattr(cls, name)
        klass._fields, klass._defaults, klass.__match_args__ = names, defaults, names
        klass.__init__, klass.__repr__, klass.__eq__ = _init, _repr, _eq
        if mutable:
            klass.__hash__ = None
        else:
            klass.__hash__, klass.__setattr__, klass.__delattr__ = _hash, _frozen, _frozen
        return cls

    return build if cls is None else build(cls)


def replace(obj: T, **changes: Any) -> T:
    """A copy of `obj` with `changes` (`dataclasses.replace`)."""
    values = {name: getattr(obj, name) for name in obj._fields}  # type: ignore[attr-defined]
    values.update(changes)
    return type(obj)(**values)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls._fields
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments but {len(args)} were given")
    values = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names or key in values:
            raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {key!r}")
        values[key] = value
    for name in names:
        if name in values:
            continue
        if name not in cls._defaults:
            raise TypeError(f"{cls.__name__}() missing argument {name!r}")
        default = cls._defaults[name]
        values[name] = default.make() if isinstance(default, _Factory) else default
    for name in names:
        object.__setattr__(self, name, values[name])


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if type(other) is not type(self):
        return NotImplemented
    return all(getattr(self, name) == getattr(other, name) for name in self._fields)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in self._fields))


def _frozen(self: Any, name: str, *args: Any) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}: it is immutable")


class Value:
    """The base of the few value classes built thousands of times a run (Location, Hit, Document): their
    fields are `__slots__`, set once by a written-out `__init__` (as fast as a dataclass's); equality,
    order, hashing, repr, pickling and immutability come from here, for no cost at import."""

    __slots__ = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __lt__(self, other: Any) -> bool:
        return self._values() < other._values() if type(other) is type(self) else NotImplemented

    def __le__(self, other: Any) -> bool:
        return self._values() <= other._values() if type(other) is type(self) else NotImplemented

    def __gt__(self, other: Any) -> bool:
        return self._values() > other._values() if type(other) is type(self) else NotImplemented

    def __ge__(self, other: Any) -> bool:
        return self._values() >= other._values() if type(other) is type(self) else NotImplemented

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), self._values()

    def __setattr__(self, name: str, value: Any) -> None:
        _frozen(self, name)

    def __delattr__(self, name: str) -> None:
        _frozen(self, name)


set_field = object.__setattr__  # for a Value's __init__
