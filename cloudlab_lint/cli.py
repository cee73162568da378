"""Command line: `cloudlab-lint [PATH ...] | --all`, and the subcommands rules, explain, graph, baseline."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .errors import UsageError
from .record import factory, record

if TYPE_CHECKING:
    from .catalog import Catalog
    from .config import Config
    from .history_scope import Scope
    from .model import Result
    from .repo import Repo
    from .runner.settings import Settings

SUBCOMMANDS = ("rules", "explain", "graph", "baseline", "init")
FAIL_ON = ("error", "warning", "note", "never")
DEFAULT_BASELINE = ".cloudlab-lint-baseline.json"


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, help="repository root (default: the git top level of the cwd)")
    p.add_argument("--config", type=Path, help="config file (default: .cloudlab-lint.yaml at the root, if present)")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--select", type=_ids, action="extend", default=[], metavar="IDS",
                   help="only these rules, by id or id prefix (CL0,CL102)")
    p.add_argument("--ignore", type=_ids, action="extend", default=[], metavar="IDS",
                   help="skip these rules, by id or id prefix")
    p.add_argument("--history", action="store_true", help="also scan every commit (CL006)")
    p.add_argument("--history-range", metavar="BASE..HEAD",
                   help="CL006 on the commits of this range only (a pull request's); implies --history")
    p.add_argument("--pre-push", action="store_true",
                   help="CL006 on what git push sends (a pre-push hook's stdin); implies --history")
    p.add_argument("--github", action="store_true", help="also check repository settings through the API (CL301)")
    p.add_argument("--github-repo", metavar="OWNER/NAME",
                   help="the GitHub repository (default: $GITHUB_REPOSITORY, else the origin remote)")


def _output_spec(text: str) -> tuple[str | None, str]:
    from .outputs import output_spec

    return output_spec(text)


def no_color() -> bool:
    """no-color.org: colour is off when NO_COLOR is present and not empty."""
    return bool(os.environ.get("NO_COLOR"))


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own, told the terminal's width: argparse would import `shutil` (and with it bz2 and lzma) to
    ask, in every run, for help text that a run which parses its arguments never prints."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)


def _columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` finds it: $COLUMNS, the terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def lint_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cloudlab-lint", formatter_class=_HelpFormatter,
        description="Policy-as-code checks for a Bootstrap Flux GitOps repository. "
                    "Subcommands: rules, explain ID, graph, baseline, init (each has --help).",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files to lint (default: what is staged)")
    p.add_argument("--all", action="store_true", help="lint the whole repository")
    p.add_argument("--staged", action="store_true",
                   help="judge the index (what a commit holds) even outside a commit hook")
    p.add_argument("--report-unused-suppressions", action="store_true",
                   help="note inline suppressions that hide nothing")
    _selection(p)
    p.add_argument("--format", choices=("text", "json", "sarif", "github", "markdown"), default="text")
    p.add_argument("--output", type=_output_spec, action="append", default=[], metavar="FILE|FORMAT=FILE",
                   help="write the report there instead of stdout; repeat FORMAT=FILE for more reports of the same "
                        "run (FORMAT=- is stdout)")
    p.add_argument("--sarif-category", metavar="NAME",
                   help="SARIF automationDetails.id NAME/ (default: none, so the upload's own category applies)")
    p.add_argument("--fail-on", choices=FAIL_ON, default="error", help="exit 1 on findings at or above this severity")
    p.add_argument("--baseline", type=Path, metavar="FILE", help="hide findings already in this baseline")
    p.add_argument("--fix", action="store_true", help="apply safe fixes (CL001), then report what is left")
    p.add_argument("--no-cache", action="store_true",
                   help="parse every file afresh and keep nothing (default: parsed YAML is kept in the git folder)")
    p.add_argument("--version", action="version", version=f"cloudlab-lint {__version__}")
    _common(p)
    return p


@record(mutable=True)
class Session:
    """What every command needs: the repository root, its config and the rule catalog."""

    root: Path
    is_git: bool
    config: Config
    catalog: Catalog
    index_file: Path | None = None  # the index a running git hook named
    notes: list[str] = factory(list)  # said with the report (a config found but not counted)
    index: dict[str, str] | None = None  # the index's entries ("<mode> <blob id>"), listed once
    sparse: frozenset[str] | None = None  # the index's skip-worktree paths, listed with it


def open_session(args: argparse.Namespace) -> Session:
    from .catalog import check_ignores, load_catalog, with_overrides
    from .config import CONFIG_NAME, Config, load_config
    from .files import index_file_from_env
    from .repo import locate_root

    root, is_git = locate_root(args.root, Path.cwd())
    # git names the index relative to where it started the hook (nothing here changes directory)
    index_file = _own_index(root, index_file_from_env(Path.cwd())) if is_git else None
    staged = is_git and _judges_index(args, index_file)
    config_path = args.config or (root / CONFIG_NAME)
    if args.config and not config_path.is_file():
        what = "the config is not a regular file" if os.path.lexists(config_path) else "config file not found"
        raise UsageError(f"{args.config}: {what}")
    notes: list[str] = []
    data = None
    index, sparse = _list_index(root, index_file) if is_git else (None, None)
    if not args.config:
        _confine(root, config_path, CONFIG_NAME)
        found = os.path.lexists(config_path)
        entry = index.get(CONFIG_NAME) if index is not None else None
        tracked = entry[7:] if entry is not None and entry[:6] in ("100644", "100755") else None
        if is_git and found and tracked is None:
            # An untracked config is this machine's, not the repository's: it never hides a finding.
            notes.append(f"{CONFIG_NAME}: not tracked by git, ignored (commit it, or name it with --config)")
            config_path = root / "\0none"
        elif is_git and tracked is not None and (staged or not found):
            data = _read_blob(root, tracked)
    if config_path.exists() and not config_path.is_file():
        raise UsageError(f"{config_path.name}: the config is not a regular file")
    if data is not None:
        config = load_config(root / CONFIG_NAME, root, data)
    else:
        config = load_config(config_path, root) if config_path.is_file() else Config()
    if not args.config:
        # The repository's own config may come from a stranger's pull request: its rule_dirs
        # stay inside the repository, like every other file we read.
        for folder in config.rule_dirs:
            _confine(root, folder, f"{CONFIG_NAME}: rule_dirs entry {folder}")
    cache = None
    # Lint runs only (they alone can say --no-cache), and never `--all`: CI's fresh clone has nothing kept,
    # and nothing kept may change what CI judges.
    if is_git and not getattr(args, "no_cache", True) and not getattr(args, "all", False):
        from .files import cache_dir

        folder = cache_dir(root)
        cache = folder / "rules.json" if folder is not None else None
    catalog = load_catalog(config.rule_dirs, cache=cache, write_cache=True)  # kept by the commit hook
    catalog = with_overrides(catalog, config.rules, config.source or CONFIG_NAME)
    check_ignores(catalog, config.ignore, config.source or CONFIG_NAME)
    if config.baseline is not None and not args.config:
        _confine(root, config.baseline, f"{CONFIG_NAME}: baseline {config.baseline.name}")
    return Session(root, is_git, config, catalog, index_file, notes, index, sparse)


def _own_index(root: Path, index_file: Path | None) -> Path | None:
    """The hook's index when it belongs to the repository at `root` (inside its git folder): a hook of
    another repository running `cloudlab-lint --root HERE` must not judge HERE by that index."""
    if index_file is None:
        return None
    from .files import cache_dir

    kept = cache_dir(root)  # <git folder>/cloudlab-lint, known from locate_root without another git call
    git_dir = os.path.realpath(kept.parent) if kept is not None else None
    real = os.path.realpath(index_file)
    return index_file if git_dir is not None and real.startswith(git_dir.rstrip(os.sep) + os.sep) else None


def _judges_index(args: argparse.Namespace, index_file: Path | None) -> bool:
    """Whether the index, not the work tree, is what this run judges (see `Repo.open`)."""
    if not hasattr(args, "staged"):
        return False  # subcommands (graph, baseline) read the work tree
    return bool(args.staged or index_file is not None or (not args.paths and not args.all))


def _list_index(root: Path, index_file: Path | None) -> tuple[dict[str, str], frozenset[str]]:
    from .files import read_index
    from .gitcmd import GitError
    from .repo import RepoError

    try:
        return read_index(root, index_file)
    except GitError as exc:
        raise RepoError(f"cannot list the files git tracks: {exc}") from None


def _read_blob(root: Path, oid: str) -> bytes:
    from .gitcmd import git

    return git(root, "cat-file", "blob", oid)


def _confine(root: Path, path: Path, shown: str) -> None:
    """Refuse a path the repository points outside itself (through `..` or a link): never read it."""
    if not os.path.lexists(path):
        return
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if real != top and top not in real.parents:
        raise UsageError(f"{shown}: lies outside the repository (through a link or `..`), not read")


def open_repo(session: Session, args: argparse.Namespace, *, all_files: bool) -> Repo:
    from .repo import Repo

    repo = Repo.open(session.root, is_git=session.is_git, paths=getattr(args, "paths", None) or None,
                     all_files=all_files, cwd=Path.cwd(), exclude=session.config.exclude,
                     max_bytes=session.config.max_file_size, staged=getattr(args, "staged", False),
                     index_file=session.index_file if hasattr(args, "staged") else None, index=session.index,
                     sparse=session.sparse)
    repo.notes.extend(session.notes)
    return repo


def run_lint(session: Session, repo: Repo, args: argparse.Namespace, *, use_baseline: bool = True,
             settings: Settings | None = None) -> Result:
    from .checks import Options
    from .engine import run, select_rules
    from .runner.settings import Settings
    from .suppress import load_baseline

    select, ignore = _by_name(session.catalog, args.select), _by_name(session.catalog, args.ignore)
    for wanted in (*select, *ignore):
        if not any(r.id.startswith(wanted) for r in session.catalog.rules):
            raise UsageError(f"--select/--ignore: no rule id starts with {wanted!r}")
    args.history = args.history or bool(getattr(args, "history_range", None) or getattr(args, "pre_push", False))
    scope = _history_scope(session, args) if args.history else None
    needs = {"history": (args.history, "--history"), "github": (args.github, "--github")}
    for rule in session.catalog.rules:
        if rule.id in select and rule.requires in needs and not needs[rule.requires][0]:
            # Selected by its exact id, it would silently not run: say what it needs instead.
            raise UsageError(f"--select {rule.id}: {rule.id} runs only with {needs[rule.requires][1]}")
    rules = select_rules(session.catalog, select, ignore, history=args.history, github=args.github)
    baseline = None
    # --baseline, else the config's `baseline:` (named explicitly there, so it counts even untracked).
    baseline_path = getattr(args, "baseline", None) or session.config.baseline
    if use_baseline and baseline_path:
        try:
            baseline = load_baseline(baseline_path if baseline_path.is_absolute() else Path.cwd() / baseline_path)
        except RecursionError:  # json.loads on absurd nesting
            raise UsageError(f"{baseline_path}: not a cloudlab-lint baseline (nested too deeply)") from None
    options = Options(fix=getattr(args, "fix", False), history=args.history, github=args.github,
                      github_repo=args.github_repo, progress=sys.stderr.isatty(),
                      **({"history_revs": scope.revs, "history_scope": scope.what} if scope else {}))
    try:
        return run(repo, rules, session.config, options, baseline=baseline, debug=args.debug,
                   known_rules=_known_rule_keys(session.catalog),
                   report_unused=getattr(args, "report_unused_suppressions", False),
                   settings=settings or Settings.from_env(keep=False))
    finally:
        repo.close()


def _history_scope(session: Session, args: argparse.Namespace) -> Scope:
    from .history_scope import EVERY_REF, ScopeError, history_scope

    if not session.is_git:
        return EVERY_REF
    pre_push = getattr(args, "pre_push", False)
    try:
        return history_scope(session.root, getattr(args, "history_range", None), pre_push,
                             sys.stdin.read() if pre_push and not sys.stdin.isatty() else None, os.environ)
    except ScopeError as exc:
        raise UsageError(str(exc)) from None


def _known_rule_keys(catalog: Catalog) -> frozenset[str]:
    """What a suppression may name: every rule's id and name."""
    return frozenset(k for r in catalog.rules for k in (r.id, r.name))


def _by_name(catalog: Catalog, wanted: list[str]) -> list[str]:
    """Rule names (`sops-ciphertext-only`) as their ids; ids and id prefixes as they are."""
    names = {r.name: r.id for r in catalog.rules}
    return [names.get(w, w) for w in wanted]


def emit(text: str, output: Path | None, stream: TextIO) -> None:
    if output is None:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            # File names git reports may not be UTF-8 (kept as surrogates): never crash on printing them.
            stream.flush()
            buffer.write(text.encode("utf-8", "replace"))
            buffer.flush()
        else:
            stream.write(text)
            stream.flush()
        return
    from .atomic import write_output

    stream.flush()  # a report to /dev/stdout follows what was printed before it
    try:
        write_output(output, text.encode("utf-8", "replace"))
    except OSError as exc:
        raise UsageError(f"{output}: cannot write the report: {exc.strerror or exc}") from None


def _report_side_channel(result: Result) -> None:
    from .reporters import printable

    for note in result.notes:
        print(f"cloudlab-lint: note: {printable(note)}", file=sys.stderr)
    for error in result.errors:
        print(f"cloudlab-lint: error: {printable(error.message)}", file=sys.stderr)


def exit_status(result: Result, fail_on: str) -> int:
    if result.errors:
        return 2
    if fail_on == "never":
        return 0
    from .model import Severity

    threshold = Severity(fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in result.findings) else 0


def cmd_lint(argv: list[str]) -> int:
    args = lint_parser().parse_args(argv)
    if args.all and args.paths:
        raise UsageError("give either PATH arguments or --all, not both")
    session = open_session(args)
    repo = open_repo(session, args, all_files=args.all)
    # A commit hook keeps parses and tree results, where speed matters. `--all` neither reads nor writes them:
    # CI's fresh clone has nothing to reuse, and a kept (or forged) result must never change what CI judges.
    from .runner.settings import Settings

    settings = Settings.from_env(keep=session.is_git and not args.no_cache and not args.all)
    if settings.keep:
        from .runner.store import open_store

        repo.store = open_store(repo, settings)
    from .outputs import plan_outputs

    outputs = plan_outputs(args.output, args.format)  # before the analysis: a usage error costs nothing
    result = run_lint(session, repo, args, settings=settings)
    from .reporters import ReportEnv, renderer

    graph = _mermaid(repo, session.config, result) if any(f == "markdown" for f, _ in outputs) else None
    for fmt, target in outputs:
        color = target is None and sys.stdout.isatty() and not no_color()
        env = ReportEnv(color=color, graph_mermaid=graph, sarif_category=args.sarif_category)
        emit(renderer(fmt)(result, session.catalog, env), target, sys.stdout)
    _report_side_channel(result)
    if repo.store is not None:
        repo.store.save(repo.file_set)
    status = exit_status(result, args.fail_on)
    if result.modified and status == 0:
        # As ruff's fix hook does: a run that changed files fails, so the commit is not made without them.
        print(f"cloudlab-lint: files were modified by --fix: {', '.join(result.modified)}; "
              "review and `git add` them", file=sys.stderr)
        return 1
    return status


def _mermaid(repo: Repo, config: Config, result: Result | None = None) -> str | None:
    """The Flux graph for the markdown report, each Kustomization coloured by its file's worst finding."""
    from .model import Severity

    try:
        from .stack.gitops.tree import render_graph
    except ImportError:
        return None
    marks: dict[str, str] = {}
    for finding in result.findings if result is not None else ():
        worst = marks.get(finding.location.path)
        if worst is None or finding.severity.rank > Severity(worst).rank:
            marks[finding.location.path] = finding.severity.value
    return render_graph(repo, config, "mermaid", marks) or None


def cmd_rules(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cloudlab-lint rules", description="List the rules.")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    _common(p)
    args = p.parse_args(argv)
    from .catalog import load_catalog
    from .ruledocs import rules_json, rules_markdown, rules_text

    catalog = _catalog_for_docs(args) or load_catalog()
    render = {"text": rules_text, "markdown": rules_markdown, "json": rules_json}[args.format]
    sys.stdout.write(render(catalog))
    return 0


def _catalog_for_docs(args: argparse.Namespace) -> Catalog | None:
    """The catalog with the team's rules when run inside a configured repository."""
    from .repo import RepoError

    try:
        return open_session(args).catalog
    except RepoError:
        return None


def cmd_explain(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cloudlab-lint explain", description="Show one rule's full help.")
    p.add_argument("rule", metavar="ID", help="a rule id (CL003) or name (sops-ciphertext-only)")
    _common(p)
    args = p.parse_args(argv)
    from .catalog import load_catalog
    from .ruledocs import explain

    catalog = _catalog_for_docs(args) or load_catalog()
    wanted = args.rule.strip()
    for rule in catalog.rules:
        if wanted.upper() == rule.id or wanted == rule.name:
            sys.stdout.write(explain(rule))
            return 0
    raise UsageError(f"explain: no rule {wanted!r} (see `cloudlab-lint rules`)")


def cmd_graph(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cloudlab-lint graph", description="The Flux Kustomization dependency graph.")
    p.add_argument("--format", choices=("mermaid", "dot", "text"), default="text")
    p.add_argument("--output", type=Path, metavar="FILE")
    _common(p)
    args = p.parse_args(argv)
    session = open_session(args)
    repo = open_repo(session, args, all_files=True)
    try:
        from .stack.gitops.tree import render_graph
    except ImportError:
        raise UsageError("graph: the Flux model is not available in this version") from None
    emit(render_graph(repo, session.config, args.format), args.output, sys.stdout)
    return 0


def cmd_baseline(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cloudlab-lint baseline",
                                description="Write the current findings as a baseline file (for --baseline).")
    p.add_argument("--output", type=Path, metavar="FILE", help=f"default: {DEFAULT_BASELINE} at the root")
    _selection(p)
    _common(p)
    args = p.parse_args(argv)
    session = open_session(args)
    repo = open_repo(session, args, all_files=True)
    result = run_lint(session, repo, args, use_baseline=False)
    import json

    from .suppress import baseline_document

    output = args.output or session.config.baseline or session.root / DEFAULT_BASELINE
    emit(json.dumps(baseline_document(result.findings), indent=2) + "\n", output, sys.stdout)
    _report_side_channel(result)
    print(f"cloudlab-lint: wrote {len(result.findings)} findings to {output}", file=sys.stderr)
    return 2 if result.errors else 0


def cmd_init(argv: list[str]) -> int:
    from .scaffold import cmd_init as scaffold

    return scaffold(argv)


COMMANDS = {"rules": cmd_rules, "explain": cmd_explain, "graph": cmd_graph, "baseline": cmd_baseline,
            "init": cmd_init}


def main(argv: list[str] | None = None) -> int:
    as_command = argv is None  # the console script: the process ends with the run
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # A run builds models whose objects all stay alive until it ends, and makes little cyclic garbage: the
    # cyclic collector would only walk them again and again. Paused for the run (measured with bench/speed.py).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv, debug)
    finally:
        if as_command:
            # Everything the run built is still young: the collector's first pass (here, or at exit) would walk
            # all of it once more. Frozen, it is left alone until the process ends.
            gc.freeze()
        if collecting:
            gc.enable()


def _main(argv: list[str], debug: bool) -> int:
    try:
        command, rest = split_command(argv)
        if command is not None:
            return COMMANDS[command](rest)
        return cmd_lint(argv)
    except SystemExit as exc:  # argparse: --help, --version and usage errors
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except KeyboardInterrupt:
        print("cloudlab-lint: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
        known = _known_error(exc)
        if known is None and debug:
            raise
        message = known or f"internal error ({type(exc).__name__}); rerun with --debug for the traceback"
        from .escape import printable  # a path or git's words in it: one line, no terminal escapes

        print(f"cloudlab-lint: error: {printable(message)}", file=sys.stderr)
        return 2


# Options every command takes, and whether each takes a value: they may stand before a subcommand.
GLOBAL_OPTIONS = {"--root": True, "--config": True, "--debug": False}


def split_command(argv: list[str]) -> tuple[str | None, list[str]]:
    """(subcommand, its arguments) when the first word that is no global option names one, else
    (None, argv): a lint run. Nothing after `--` is ever a subcommand or an option."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return None, argv
        name = word.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            i += 2 if GLOBAL_OPTIONS[name] and "=" not in word else 1
            continue
        if word in COMMANDS:
            return word, argv[:i] + argv[i + 1:]
        return None, argv
    return None, argv


def _known_error(exc: Exception) -> str | None:
    from .catalog import CatalogError
    from .config import ConfigError
    from .gitcmd import GitError
    from .repo import MissingPaths, RepoError
    from .suppress import BaselineError

    if isinstance(exc, MissingPaths):
        import difflib

        near = [c for p in exc.paths for c in difflib.get_close_matches(p, list(COMMANDS), n=1)]
        if near:
            return f"{exc} (did you mean the subcommand `{near[0]}`?)"
    if isinstance(exc, UsageError | ConfigError | CatalogError | RepoError | BaselineError | GitError):
        return str(exc)
    return None
