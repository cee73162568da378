"""Bounded work in the command graph (issue #16): each script is parsed once per run however often it is called,
and every rule's resolutions share one budget per run, whose end is a note naming what was not followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudlab_lint.stack.pipeline import resolve as pipeline_resolve

from .test_hostile import assert_clean, lint, make

# 1 MB of script that runs little: the cost is in reading it, each time it is parsed.
BIG = "#!/bin/sh\n" + ("# " + "comment " * 12 + "\n") * 10_000 + "cat <<'EOF'\n" + "text line\n" * 10_000 \
    + "EOF\nterraform plan\n"


def test_a_script_called_ten_times_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    real = pipeline_resolve.commands

    def counting(text: str, line: int = 1) -> list:
        if len(text) > 100_000:
            parsed.append(len(text))
        return real(text, line)

    monkeypatch.setattr(pipeline_resolve, "commands", counting)
    calls = "".join(f"sh scripts/big.sh {i}\n" for i in range(10))
    root = make(tmp_path, {
        "scripts/big.sh": BIG,
        "scripts/ten.sh": "#!/bin/sh\n" + calls,
        ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                                    "      - run: sh scripts/ten.sh\n",
    })
    doc = assert_clean(lint(root, "--all", "--select", "CL201,CL202,CL205"))
    assert parsed == [len(BIG)], parsed  # once, for the whole run and every rule (was: once per call per rule)
    assert ("CL201", "scripts/big.sh") in {(f["rule"], f["path"]) for f in doc["findings"]}


def test_the_budget_is_per_run_and_its_end_names_what_was_not_followed(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_resolve, "MAX_COMMANDS", 100)
    script = "#!/bin/sh\n" + "echo step\n" * 150 + "terraform plan\n"
    root = make(tmp_path, {
        "scripts/long.sh": script,
        ".github/workflows/ci.yml": "on: pull_request\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                                    "      - run: sh scripts/long.sh\n",
    })
    doc = assert_clean(lint(root, "--all", "--select", "CL201"))
    notes = [n for n in doc["notes"] if "stopped following commands" in n]
    assert len(notes) == 1 and "after 100 steps in this run" in notes[0]
    assert "not followed: `echo step` (scripts/long.sh:" in notes[0] and "CI rules may miss" in notes[0]
    # Within the budget the same chain is followed to its end.
    monkeypatch.setattr(pipeline_resolve, "MAX_COMMANDS", 1000)
    doc = assert_clean(lint(root, "--all", "--select", "CL201"))
    assert [f["path"] for f in doc["findings"]] == ["scripts/long.sh"]  # where the command is written
    assert not any("stopped following commands" in n for n in doc["notes"])
