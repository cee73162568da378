"""Running one rule's check: what it gave (`Outcome`), or the error that ended it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Edit, Hit, Rule, ToolError
from ..record import factory, record

if TYPE_CHECKING:
    from ..checks import Options, Registry
    from ..config import Config
    from ..repo import Repo


@record(mutable=True)
class Outcome:
    """What one rule's check gave: its hits and the edits that would fix some of them, or the error that ended it."""

    hits: list[Hit] = factory(list)
    error: ToolError | None = None
    edits: list[Edit] = factory(list)


def _crash_message(rule: Rule, exc: BaseException) -> str:
    # Never the exception's text: it may quote file content, and so a secret.
    import traceback  # only when a check crashed: it costs a clean run ~3 ms to import

    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
    return (f"{rule.id} {rule.name}: the check crashed ({type(exc).__name__}{where}); other rules still ran. "
            "Rerun with --debug for the traceback.")


def check_rule(rule: Rule, registry: Registry, repo: Repo, config: Config, options: Options,
               files: tuple[str, ...], debug: bool = False) -> Outcome:
    """Run `rule`'s check on `files` (what it judges: `runner.gate`)."""
    from ..checks import IMPORT_ERRORS, Context

    fn = registry.get(rule.check)
    if fn is None:
        broken = "; ".join(f"checks/{m}.py failed to import ({e})" for m, e in IMPORT_ERRORS.items())
        return Outcome(error=ToolError(f"{rule.source}: check {rule.check!r} does not exist"
                                       + (f" ({broken})" if broken else ""), rule.id))
    ctx = Context(repo=repo, config=config, rule=rule, options=options, files=files)
    hits: list[Hit] = []
    edits: list[Edit] = []
    try:
        for item in fn(ctx):
            (edits if isinstance(item, Edit) else hits).append(item)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - one crashing rule must not stop the others
        if debug:
            import traceback

            traceback.print_exc(file=sys.stderr)
        return Outcome(error=ToolError(_crash_message(rule, exc), rule.id))
    return Outcome(hits, None, edits)
