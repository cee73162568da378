"""CL401 roadmap-numbering: README roadmap steps numbered 1..N across phases; decisions name existing steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..model import Hit, Location
from ..record import record
from . import Context, check

HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
STEP = re.compile(r"^\s{0,3}(\d{1,4})[.)](?:\s|$)")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
NUMBER = re.compile(r"(?<![\w.])(\d{1,4})(?![\w.])")


@record
class Roadmap:
    steps: list[tuple[int, int]]  # (number, line)
    tables: list[list[tuple[list[str], int]]]  # each table: rows of (cells, line), header first


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def parse_readme(lines: list[str], phase: Any) -> Roadmap:  # `.search(str)`: re or goregex
    steps: list[tuple[int, int]] = []
    tables: list[list[tuple[list[str], int]]] = []
    in_phase = False
    phase_level = 0
    fenced = False
    table: list[tuple[list[str], int]] = []
    content_col = 4
    for number, line in enumerate(lines, start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.strip().startswith("|"):
            table.append((_cells(line), number))
            continue
        if table:
            tables.append(table)
            table = []
        heading = HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            text = re.sub(r"[*_`~]", "", heading.group(2)).strip()
            if phase.search(text):
                in_phase, phase_level = True, level
            elif in_phase and level <= phase_level:
                in_phase = False
            content_col = 4  # a heading ends any list
            continue
        if in_phase:
            step = STEP.match(line)
            indent = len(line) - len(line.lstrip(" "))
            # An item indented to the previous step's text is a sub-item of that step, not a step.
            if step and indent < content_col:
                steps.append((int(step.group(1)), number))
                content_col = indent + len(step.group(1)) + 2
    if table:
        tables.append(table)
    return Roadmap(steps, tables)


@check("roadmap-numbering")
def roadmap_numbering(ctx: Context) -> Iterator[Hit]:
    path = str(ctx.params.get("file", "README.md"))
    repo = ctx.repo
    if not repo.exists(path):
        return
    from ..stack.goregex import compile_re2  # the config's patterns: RE2, linear on any README

    roadmap = parse_readme(repo.lines(path), compile_re2(str(ctx.params.get("phase_pattern", r"(?i)^phase\b"))))
    if not roadmap.steps:
        return  # no roadmap: nothing to number
    expected = 1
    seen: dict[int, int] = {}
    for number, line in roadmap.steps:
        if number in seen:
            yield Hit(f"roadmap step {number} repeats step {number} on line {seen[number]}; number the steps 1..N "
                      "across all phases", Location(path, line), key=f"repeat:{number}")
        elif number != expected:
            if number > expected:
                missing = f"step {expected}" if number == expected + 1 else f"steps {expected}-{number - 1}"
                yield Hit(f"roadmap step {number} follows step {expected - 1}: {missing} missing (a gap)",
                          Location(path, line), key=f"gap:{number}")
            else:
                yield Hit(f"roadmap step {number} comes after step {expected - 1}: steps go 1..N in order",
                          Location(path, line), key=f"order:{number}")
        seen.setdefault(number, line)
        expected = max(expected, number + 1)
    existing = set(seen)
    column = compile_re2(str(ctx.params.get("decisions_column", r"(?i)^steps?$")))
    for table in roadmap.tables:
        header = table[0][0]
        index = next((i for i, cell in enumerate(header) if column.search(re.sub(r"[*_`]", "", cell))), None)
        if index is None:
            continue
        for cells, line in table[1:]:
            if index >= len(cells) or re.fullmatch(r"[\s:|-]*", "".join(cells)):
                continue  # the delimiter row, or a short row
            for match in NUMBER.finditer(re.sub(r"~~.*?~~", "", cells[index])):
                step = int(match.group(1))
                if step not in existing:
                    yield Hit(f"the decisions table names step {step}, which the roadmap does not have (steps "
                              f"1..{max(existing)})", Location(path, line), key=f"decision:{step}:{cells[0][:40]}")
