"""`@record`, the project's one value class, behaves as a slotted dataclass for what the code relies on."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from cloudlab_lint import record as record_module
from cloudlab_lint.record import factory, field, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = factory(list)


@dataclasses.dataclass(frozen=True)
class Twin:
    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)


@record(mutable=True)
class Counter:
    seen: int = 0


def test_construction_defaults_and_repr_match_a_frozen_dataclass() -> None:
    for args, kwargs in (((1,), {}), ((1, 2), {}), ((), {"x": 3, "tags": ["a"]}), ((4,), {"y": 5})):
        ours, theirs = Point(*args, **kwargs), Twin(*args, **kwargs)
        assert (ours.x, ours.y, ours.tags) == (theirs.x, theirs.y, theirs.tags)
        assert repr(ours) == repr(theirs).replace("Twin", "Point")
    assert Point(1).tags is not Point(1).tags, "a factory default is made afresh"


@pytest.mark.parametrize("call", [lambda: Point(), lambda: Point(1, 2, [], 4), lambda: Point(1, x=2),
                                  lambda: Point(1, z=2)])
def test_wrong_arguments_are_a_type_error(call) -> None:  # noqa: ANN001
    with pytest.raises(TypeError):
        call()


def test_equality_hashing_immutability_replace_and_pickling() -> None:
    a, b = Point(1, 2), Point(1, 2)
    assert a == b and a != Point(1, 3) and a != Twin(1, 2)
    assert hash(Point(1, 2, ())) == hash(Point(1, 2, ()))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        a.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.x  # type: ignore[misc]
    moved = replace(a, y=9)
    assert (moved.x, moved.y, a.y) == (1, 9, 2)
    assert pickle.loads(pickle.dumps(a)) == a
    counter = Counter()
    counter.seen += 1
    assert counter.seen == 1 and Counter.__hash__ is None


def test_the_hot_value_classes_compare_order_hash_and_pickle_like_dataclasses() -> None:
    from cloudlab_lint.model import Hit, Location
    from cloudlab_lint.parsing.yamlx import Document

    a, b = Location("a.yaml", 2, 1), Location("a.yaml", 10)
    assert a < b and a <= b and b > a and b >= a and sorted([b, a]) == [a, b]
    assert Location("a.yaml") == Location("a.yaml", 1, 1, None, None) and a != b
    assert repr(a) == "Location(path='a.yaml', line=2, column=1, end_line=None, end_column=None)"
    hit = Hit("m", a, key="k")
    assert {hit, Hit("m", Location("a.yaml", 2), "k")} == {hit}
    assert pickle.loads(pickle.dumps(hit)) == hit and pickle.loads(pickle.dumps(hit)).location == a
    with pytest.raises(AttributeError):
        hit.message = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        a.line = 3  # type: ignore[misc]
    doc = Document({"a": 1}, 0, 1, 2)
    assert pickle.loads(pickle.dumps(doc)).data == {"a": 1} and doc == Document({"a": 1}, 0, 1, 2)
    with pytest.raises(TypeError):
        a < hit  # noqa: B015


@record
class Secretive:
    name: str
    token: str = field(default="", repr=False)
    seen: float | None = field(default=None, compare=False)


def test_field_options_leave_a_field_out_of_the_repr_or_out_of_equality_and_hashing() -> None:
    a = Secretive("a", "hunter2", 1.0)
    assert repr(a) == "Secretive(name='a', seen=1.0)"
    assert a == Secretive("a", "hunter2", 2.0) and hash(a) == hash(Secretive("a", "hunter2"))
    assert a != Secretive("a", "other")


def test_fields_are_slots_and_defaults_are_no_class_attributes() -> None:
    assert Point.__slots__ == ("x", "y", "tags") and not hasattr(Point(1), "__dict__")
    with pytest.raises(AttributeError):
        Counter().other = 1  # type: ignore[attr-defined]
    assert Point.__match_args__ == ("x", "y", "tags")
    match Point(1, 2):
        case Point(x, y):
            assert (x, y) == (1, 2)


def test_a_class_built_often_gets_its_own_init_and_behaves_the_same() -> None:
    @record(mutable=True)
    class Often:
        a: int
        b: list[int] = factory(list)
        c: str = "c"

    built = [Often(i) for i in range(record_module._WRITE_AFTER + 5)]
    assert Often.__init__ is not record_module._first_init
    assert [(o.a, o.b, o.c) for o in built[-3:]] == [(i, [], "c") for i in range(len(built) - 3, len(built))]
    assert built[-1].b is not built[-2].b and Often(1, c="x").c == "x" and Often(a=2).a == 2
    for wrong in (lambda: Often(), lambda: Often(1, [], "c", 4), lambda: Often(1, d=2)):
        with pytest.raises(TypeError):
            wrong()
