"""Our small config validator agrees with jsonschema, the reference, on generated configs."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlab_lint.config import SCHEMA
from cloudlab_lint.schemacheck import validate

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, width=16),
                    st.sampled_from(["", "kubernetes", "CL001", "error", "fatal", "archive/**"]))
keys = st.sampled_from(["gitops_root", "flux", "exclude", "rules", "rule_dirs", "max_file_size", "clusters", "chain",
                        "layout", "infrastructure", "apps", "enabled", "severity", "params", "CL001", "cl1", "TEAM7",
                        "colour"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=12)
configs = st.dictionaries(keys, values, max_size=5)


@settings(deadline=None, max_examples=400)
@given(configs)
def test_agrees_with_jsonschema(config: dict) -> None:
    reference = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(config))
    ours = validate(config, SCHEMA)
    assert bool(reference) == bool(ours), (config, [e.message for e in reference], ours)


@pytest.mark.parametrize("config", [
    {"gitops_root": "k8s", "flux": {"clusters": ["a"], "chain": ["x"], "layout": {"apps": "apps"}},
     "exclude": ["a/**"], "rules": {"CL001": {"enabled": False, "severity": "note", "params": {}}},
     "rule_dirs": ["p"], "max_file_size": 10},
])
def test_a_full_valid_config(config: dict) -> None:
    assert validate(config, SCHEMA) == []
    assert not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(config))


def test_refuses_keywords_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="does not support"):
        validate({}, {"type": "object", "oneOf": []})
