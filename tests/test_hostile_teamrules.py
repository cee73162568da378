"""Team rules are offline and linear (issue #16): a `manifest-schema` `$ref` resolves only inside the schema or to a
file beside the rule; anything else (a URL to a silent server, `file:///dev/zero`, `..`, an absolute path) is a
configuration error when the rule is loaded: exit 2, one line, no connection made. Schema patterns run with RE2."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from .test_hostile import assert_clean, assert_exit_2, lint, make

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: {mode}\n"


def rule(schema: dict[str, Any]) -> str:
    return json.dumps({"id": "TEAM001", "name": "config-shape", "severity": "error", "check": "manifest-schema",
                       "short": "s", "full": "f", "help": {"why": "w", "fix": "x"},
                       "params": {"kind": "ConfigMap", "schema": schema}})


def repo_with(tmp_path: Path, schema: dict[str, Any], mode: str = "fast", **files: str) -> Path:
    return make(tmp_path, {".cloudlab-lint.yaml": "rule_dirs: [policies]\n", "policies/TEAM001.yaml": rule(schema),
                           "kubernetes/cm.yaml": CM.format(mode=mode),
                           **{f"policies/{name}": text for name, text in files.items()}})


@pytest.fixture
def silent_listener() -> Any:
    """A port that accepts connections and never answers: a fetch from it would hang."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0)
    yield server
    server.close()


def _accepted(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


@pytest.mark.parametrize("ref", ["http://127.0.0.1:{port}/s.json", "https://example.invalid/s.json",
                                 "file:///dev/zero", "/etc/passwd", "../outside.json", "sub/../../outside.json",
                                 "//127.0.0.1:{port}/s.json"])
def test_a_ref_outside_the_rule_folder_is_a_config_error(tmp_path: Path, silent_listener: socket.socket,
                                                          ref: str) -> None:
    ref = ref.format(port=silent_listener.getsockname()[1])
    root = repo_with(tmp_path, {"type": "object", "properties": {"data": {"$ref": ref}}},
                     **{"../outside.json": "{}"})
    assert_exit_2(lint(root, "--all"), "policies/TEAM001.yaml", "params.schema", "outside the rule's folder")
    assert not _accepted(silent_listener), "a connection was made"


def test_a_relative_ref_under_an_absolute_id_is_a_config_error(tmp_path: Path) -> None:
    root = repo_with(tmp_path, {"$id": "https://example.invalid/root.json", "properties": {"data": {"$ref": "d.json"}}},
                     **{"d.json": "{}"})
    assert_exit_2(lint(root, "--all"), "absolute `$id`")


def test_a_ref_to_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    root = repo_with(tmp_path, {"properties": {"data": {"$ref": "missing.json"}}})
    assert_exit_2(lint(root, "--all"), "no such file beside the rule")


def test_refs_inside_the_schema_and_beside_the_rule_work(tmp_path: Path) -> None:
    data = {"type": "object", "required": ["mode"], "properties": {"mode": {"$ref": "#/$defs/mode"}}}
    root = repo_with(tmp_path, {"type": "object", "properties": {"data": data},
                                "$defs": {"mode": {"$ref": "defs/modes.json#/slow"}}},
                     **{"defs/modes.json": json.dumps({"slow": {"enum": ["slow"]}})})
    doc = assert_clean(lint(root, "--all", "--select", "TEAM001"))
    assert [(f["rule"], f["path"], f["line"]) for f in doc["findings"]] == [("TEAM001", "kubernetes/cm.yaml", 6)]


def test_schema_patterns_run_with_re2(tmp_path: Path) -> None:
    schema = {"properties": {"data": {"properties": {"mode": {"pattern": "^(a+)+$"}},
                                      "patternProperties": {"^(m+)+$": {"type": "string"}},
                                      "additionalProperties": False}}}
    root = repo_with(tmp_path, schema, mode="a" * 40 + "!")
    doc = assert_clean(lint(root, "--all", "--select", "TEAM001"))
    assert {f["message"].split("`")[3] for f in doc["findings"]} == {"data.mode"}


def test_a_schema_pattern_re2_cannot_run_is_a_config_error(tmp_path: Path) -> None:
    root = repo_with(tmp_path, {"properties": {"data": {"properties": {"mode": {"pattern": "(?<=x)y"}}}}})
    assert_exit_2(lint(root, "--all"), "params.schema", "RE2")
