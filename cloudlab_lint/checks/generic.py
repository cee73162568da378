"""Generic check kinds for team-written rules that need no family of their own.

`required-ignore`: more probe paths that the committed ignore rules must cover
(the CL001 machinery, with the team's probes). The other generic kinds live
with the model they query: `manifest-schema` in flux.py, `forbidden-command`
in pipeline.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Hit
from . import Context, check
from .hygiene import coverage_hits


@check("required-ignore")
def required_ignore(ctx: Context) -> Iterator[Hit]:
    probes = [str(p) for p in ctx.params.get("probes", [])]
    yield from coverage_hits(ctx, probes, [str(p) for p in ctx.params.get("must_commit", [])])
