"""The GitHub Action's logic (`action.yml` runs `python -m cloudlab_lint.action`): one analysis, three reports.

Inputs come as `INPUT_<NAME>` environment variables (set by action.yml's `env:`, never interpolated into a
script). It writes the SARIF file, workflow annotations on stdout, the job summary, and the step outputs
(`sarif-file`, `upload`, `exit-code`); its exit status is the lint's (0, 1 at or above `fail-on`, 2 an error).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

from .cli import FAIL_ON

BOOLEANS = {"true": True, "false": False, "": False}
READ_ONLY_EVENTS = ("pull_request", "pull_request_review", "pull_request_review_comment")


class ActionError(RuntimeError):
    """A wrong input or an unusable checkout: one `::error::` line, exit 2."""


def _input(name: str, default: str = "") -> str:
    return os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", default).strip()


def _flag(name: str, default: str) -> bool:
    value = _input(name, default).lower() or default
    if value not in BOOLEANS:
        raise ActionError(f"input `{name}` must be true or false, not {value!r}")
    return BOOLEANS[value]


def _command(text: str) -> str:
    """Workflow-command data: `%`, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _git(root: Path, *args: str) -> tuple[int, bytes]:
    import subprocess

    from .gitcmd import git_command, git_env

    proc = subprocess.run(git_command(root, *args), capture_output=True, env=git_env(), check=False)
    return proc.returncode, proc.stdout


def read_only_token() -> str | None:
    """Why this run's token cannot upload SARIF (a fork's pull request, Dependabot), or None."""
    event = os.environ.get("GITHUB_EVENT_NAME", "")
    if event not in READ_ONLY_EVENTS:
        return None
    if os.environ.get("GITHUB_ACTOR") == "dependabot[bot]":
        return "a Dependabot pull request gets a read-only token"
    try:
        payload = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        head = payload["pull_request"]["head"]["repo"]["full_name"]
    except (KeyError, OSError, TypeError, ValueError):
        return None
    if head != os.environ.get("GITHUB_REPOSITORY"):
        return f"a pull request from the fork {head} gets a read-only token"
    return None


def shallow_history(root: Path) -> bool:
    code, out = _git(root, "rev-parse", "--is-shallow-repository")
    return code == 0 and out.strip() == b"true"


def base_config(root: Path, folder: Path) -> Path:
    """The base branch's `.cloudlab-lint.yaml` (an empty file when it has none): a pull request cannot loosen it."""
    from .config import CONFIG_NAME

    base = os.environ.get("GITHUB_BASE_REF", "")
    if not base:
        raise ActionError("config-from-base: true needs a pull_request event (GITHUB_BASE_REF is not set)")
    ref = f"refs/remotes/origin/{base}"
    if _git(root, "rev-parse", "--verify", "--quiet", ref)[0] != 0:
        # The default checkout holds only the merge commit: fetch the base branch's tip.
        if _git(root, "fetch", "--no-tags", "--depth=1", "origin", f"+refs/heads/{base}:{ref}")[0] != 0:
            raise ActionError(f"config-from-base: cannot read branch {base} from origin")
    code, data = _git(root, "show", f"{ref}:{CONFIG_NAME}")
    target = folder / "base-config.yaml"
    target.write_bytes(data if code == 0 else b"")
    return target


def config_section(root: Path, config_path: Path | None, from_base: bool) -> str:
    """What the repository's config turns off: a pull request can change it, so the summary says it."""
    from .config import CONFIG_NAME, ConfigError, load_config

    path = config_path or root / CONFIG_NAME
    where = f"the base branch's `{CONFIG_NAME}`" if from_base else f"`{CONFIG_NAME}`"
    if not path.is_file():
        return f"\n### Configuration\n\nThere is no {where}: every rule runs with its defaults.\n"
    try:
        config = load_config(path, root)
    except ConfigError:
        return ""  # the lint run itself said what is wrong with it
    disabled = sorted(rule for rule, change in config.rules.items() if change.get("enabled") is False)
    lines = ["", "### Configuration", "", f"From {where}:", ""]
    lines.append("- Rules disabled: " + (", ".join(f"`{r}`" for r in disabled) if disabled else "none"))
    lines.append("- Paths excluded: " + (", ".join(f"`{g}`" for g in config.exclude) if config.exclude else "none"))
    ignores = getattr(config, "ignore", {}) or {}
    for glob, rules in ignores.items():
        lines.append(f"- Rules ignored under `{glob}`: " + ", ".join(f"`{r}`" for r in rules))
    return "\n".join(lines) + "\n"


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def build_argv(args: list[str], *, history: bool, github: bool, fail_on: str, sarif: Path | None,
               markdown: Path | None, config: Path | None) -> list[str]:
    argv = ["--all", *args, "--fail-on", fail_on, "--output", "github=-"]
    if history:
        argv.append("--history")
    if github:
        argv.append("--github")
    if sarif is not None:
        argv += ["--output", f"sarif={sarif}"]
    if markdown is not None:
        argv += ["--output", f"markdown={markdown}"]
    if config is not None:
        argv += ["--config", str(config)]
    return argv


def run() -> int:
    root = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    fail_on = _input("fail-on", "error") or "error"
    if fail_on not in FAIL_ON:
        raise ActionError(f"input `fail-on` must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    history, github = _flag("history", "false"), _flag("github", "false")
    sarif, summary, from_base = _flag("sarif", "true"), _flag("summary", "true"), _flag("config-from-base", "false")
    try:
        args = shlex.split(_input("args"))
    except ValueError as exc:
        raise ActionError(f"input `args`: {exc}") from None
    if history and shallow_history(root):
        print("::error title=cloudlab-lint::the checkout is shallow, so the history scan cannot pass: give "
              "actions/checkout `fetch-depth: 0`")
    folder = Path(tempfile.mkdtemp(prefix="cloudlab-lint-", dir=os.environ.get("RUNNER_TEMP") or None))
    sarif_path = folder / "cloudlab-lint.sarif" if sarif else None
    markdown = folder / "summary.md" if summary else None
    config = base_config(root, folder) if from_base else None
    argv = build_argv(args, history=history, github=github, fail_on=fail_on, sarif=sarif_path,
                      markdown=markdown, config=config)
    from .cli import main

    old = os.getcwd()
    os.chdir(root)
    try:
        sys.stdout.flush()
        code = main(argv)
    finally:
        os.chdir(old)
    sys.stdout.flush()
    upload = sarif_path is not None and sarif_path.is_file()
    if upload:
        why = read_only_token()
        if why:
            upload = False
            print(f"::notice title=cloudlab-lint::SARIF upload skipped: {_command(why)}; the annotations and the "
                  "job summary still show every finding")
    if markdown is not None and markdown.is_file():
        _append(os.environ.get("GITHUB_STEP_SUMMARY"),
                markdown.read_text(encoding="utf-8") + config_section(root, config, from_base))
    elif markdown is not None:
        _append(os.environ.get("GITHUB_STEP_SUMMARY"), f"## cloudlab-lint\n\nThe run stopped before it could report "
                                                       f"(exit status {code}): the step's log says why.\n")
    outputs = {"sarif-file": str(sarif_path) if sarif_path and sarif_path.is_file() else "",
               "upload": "true" if upload else "false", "exit-code": str(code)}
    _append(os.environ.get("GITHUB_OUTPUT"), "".join(f"{k}={v}\n" for k, v in outputs.items()))
    return code


def main() -> int:
    try:
        return run()
    except ActionError as exc:
        print(f"::error title=cloudlab-lint::{_command(str(exc))}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
