"""`@record`: the one way this project writes a value class.

A record is a class of annotated fields with `__slots__`, construction by position or keyword (defaults,
`field(factory=...)` / `factory(...)` defaults made afresh), equality, hashing, the dataclass `repr`,
`replace`, pickling, and immutability unless `mutable=True`; `order=True` adds ordering by the fields in turn.
Field options as in `dataclasses.field`: `repr=False`, `compare=False` (left out of equality, hashing and order).

Why not `dataclasses.dataclass(slots=True, frozen=True)`: a commit hook is a whole process of ~100-250 ms,
and importing `dataclasses` (it imports `inspect`, `dis`, `ast`, `tokenize`, none of which a hook needs
otherwise) plus writing and compiling each class's methods at import made it about a third slower.
Measured with the whole project converted to `@dataclass(slots=True, frozen=True)`, on a five-file
repository with one staged manifest, each version timed as git runs the hook
(`GIT_INDEX_FILE=.git/index cloudlab-lint`), 40 runs of each interleaved: 0.119 s CPU (median) against
0.089 s before (hook runs with this `@record` match those: CPU ratio 1.004 over 100 interleaved pairs);
`python -X importtime` shows `dataclasses` ~9-12 ms and ~0.6-1 ms a class.
So `@record` shares equality, hashing, repr, order and pickling between all records and writes nothing
at import: a class is built by a shared `__init__` (~3 us) until it has been built `_WRITE_AFTER` times,
then gets its own straight-line one (~0.5 us for Location, as fast as a hand-written one; compiling it
costs ~120 us). A hook builds no class that often; `--all` builds Location, Hit and Document by the
thousand.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
# Writing and compiling a class's own `__init__` costs ~120 us, the shared one ~2 us more a construction
# than a written one: a class built fewer times than this (most, in a commit hook) never gets its own.
_WRITE_AFTER = 50
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class Field:
    """A field's options (`field()`), read by `@record` and then dropped from the class."""

    __slots__ = ("default", "make", "repr", "compare")

    def __init__(self, default: Any = _MISSING, make: Callable[[], Any] | None = None, repr: bool = True,
                 compare: bool = True) -> None:
        self.default, self.make, self.repr, self.compare = default, make, repr, compare


def field(*, default: Any = _MISSING, factory: Callable[[], Any] | None = None, repr: bool = True,
          compare: bool = True) -> Any:
    """A field with options (`dataclasses.field`): a default, a default made afresh for every instance
    (`factory`), left out of the repr, left out of equality, hashing and order."""
    return Field(default, factory, repr, compare)


def factory(make: Callable[[], T]) -> T:
    """A default made afresh for every instance: `field(factory=make)`."""
    return Field(make=make)  # type: ignore[return-value]


@overload
def record(cls: type[T], /) -> type[T]: ...
@overload
def record(*, mutable: bool = False, order: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, factory))
def record(cls: type[T] | None = None, /, *, mutable: bool = False, order: bool = False) -> Any:
    def build(cls: type[T]) -> type[T]:
        return _build(cls, mutable, order)

    return build if cls is None else build(cls)


def replace(obj: T, **changes: Any) -> T:
    """A copy of `obj` with `changes` (`dataclasses.replace`)."""
    values = {name: getattr(obj, name) for name in obj._fields}  # type: ignore[attr-defined]
    values.update(changes)
    return type(obj)(**values)


def _build(cls: type[T], mutable: bool, order: bool) -> type[T]:
    body = dict(cls.__dict__)
    inherited: tuple[str, ...] = ()
    specs: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        if "_fields" in base.__dict__:
            inherited = base._fields  # type: ignore[attr-defined]
            specs.update(base._specs)  # type: ignore[attr-defined]
    own = tuple(name for name, kind in body.get("__annotations__", {}).items()
                if not str(kind).startswith(("ClassVar", "typing.ClassVar")))
    for name in own:
        value = body.pop(name, _MISSING)  # a default leaves the class: the name is a slot
        specs[name] = value if isinstance(value, Field) else Field(value)
    names = inherited + tuple(n for n in own if n not in inherited)
    body["__slots__"] = tuple(n for n in own if n not in inherited)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    compared = tuple(n for n in names if specs[n].compare)
    key: Callable[[Any], Any] = attrgetter(*compared) if compared else (lambda self: ())
    # Every field's value as a tuple, in C (what `__reduce__` pickles: a kept fact is pickled by the thousand).
    values: Callable[[Any], tuple[Any, ...]] = (attrgetter(*names) if len(names) > 1 else
                                                 (lambda self: (getattr(self, names[0]),)) if names else
                                                 (lambda self: ()))
    body.update(_fields=names, _specs=specs, _key=staticmethod(key), _values=staticmethod(values),
                __match_args__=names)
    shared: dict[str, Any] = {"__repr__": _repr, "__eq__": _eq, "__reduce__": _reduce}
    if order:
        shared.update(__lt__=_lt, __le__=_le, __gt__=_gt, __ge__=_ge)
    if mutable:
        shared["__hash__"] = None
    else:
        shared.update(__hash__=_hash, __setattr__=_frozen, __delattr__=_frozen)
    for name, method in shared.items():
        if name not in cls.__dict__ or (name == "__hash__" and cls.__dict__[name] is None):
            body[name] = method  # a method the class writes itself stays
    if "__init__" not in cls.__dict__:
        body["__init__"] = _first_init
    klass: Any = type(cls)(cls.__name__, cls.__bases__, body)
    klass._mutable, klass._built, klass.__qualname__ = mutable, 0, cls.__qualname__
    return klass  # type: ignore[no-any-return]


def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """A record class's `__init__` until it has been built `_WRITE_AFTER` times; then its own is written."""
    cls = next(c for c in type(self).__mro__ if c.__dict__.get("__init__") is _first_init)
    cls._built += 1
    if cls._built >= _WRITE_AFTER:
        cls.__init__ = _write_init(cls)
    names: tuple[str, ...] = cls._fields
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments but {len(args)} were given")
    values = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names or key in values:
            raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {key!r}")
        values[key] = value
    put = object.__setattr__ if not cls._mutable else setattr
    for name in names:
        if name not in values:
            spec = cls._specs[name]
            if spec.make is not None:
                values[name] = spec.make()
            elif spec.default is not _MISSING:
                values[name] = spec.default
            else:
                raise TypeError(f"{cls.__name__}() missing argument {name!r}")
        put(self, name, values[name])


def _write_init(cls: Any) -> Callable[..., None]:
    params, lines = [], []
    scope: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": _MISSING}
    for name in cls._fields:
        spec = cls._specs[name]
        if spec.make is not None:
            scope[f"_make_{name}"] = spec.make
            params.append(f"{name}=_MISSING")
            lines.append(f"    if {name} is _MISSING: {name} = _make_{name}()")
        elif spec.default is not _MISSING:
            scope[f"_default_{name}"] = spec.default
            params.append(f"{name}=_default_{name}")
        else:
            if params and params[-1].count("="):
                raise TypeError(f"{cls.__name__}: field {name!r} without a default follows one with a default")
            params.append(name)
        lines.append(f"    self.{name} = {name}" if cls._mutable else f"    _set(self, {name!r}, {name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(lines or ["    pass"])
    exec(source, scope)  # noqa: S102 - our own field names, as dataclasses does
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields if self._specs[name].repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if type(other) is not type(self):
        return NotImplemented
    return self._key(self) == other._key(other)


def _hash(self: Any) -> int:
    return hash(self._key(self))


def _lt(self: Any, other: Any) -> Any:
    return self._key(self) < other._key(other) if type(other) is type(self) else NotImplemented


def _le(self: Any, other: Any) -> Any:
    return self._key(self) <= other._key(other) if type(other) is type(self) else NotImplemented


def _gt(self: Any, other: Any) -> Any:
    return self._key(self) > other._key(other) if type(other) is type(self) else NotImplemented


def _ge(self: Any, other: Any) -> Any:
    return self._key(self) >= other._key(other) if type(other) is type(self) else NotImplemented


def _reduce(self: Any) -> tuple[Any, ...]:
    # By position through __init__: a frozen record refuses the setattr that slot state restores with.
    return type(self), self._values(self)


def _frozen(self: Any, name: str, *args: Any) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}: it is immutable")
