"""Everything generated from rules/ and the project URL, by one command: `python -m cloudlab_lint.gen`.

Writes `.pre-commit-hooks.yaml`, one page per built-in rule in `docs/rules/` (the SARIF `helpUri`), the check
index (`cloudlab_lint/checks/index.py`: which module registers each check), the built-in rules' data as JSON
(`cloudlab_lint/data/rules.json`: read instead of the rules' YAML), and the README's generated parts
(the rules table, the user section's `uses:`/`repo:` lines). `--check` writes nothing and exits 1 naming what
is stale (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .catalog import Catalog, load_catalog, shipped_rules_json
from .model import Rule
from .project import CONFIG_SCHEMA_PATH

PROJECT = Path(__file__).resolve().parent.parent
RULE_PAGE = re.compile(r"^[A-Z][A-Z0-9]*[0-9]+\.md$")
GENERATED = "<!-- Generated from rules/ by `python -m cloudlab_lint.gen`; edit the rule file, not this page. -->"


def rule_page(rule: Rule) -> str:
    source = rule.source or f"rules/{rule.id}-{rule.name}.yaml"
    facts = [f"- Severity: {rule.severity.value}"]
    if rule.security_severity:
        facts.append(f"- Security severity (SARIF): {rule.security_severity}")
    facts.append(f"- Pre-commit hook: `{rule.hook}`" + (f" (only with `--{rule.requires}`)" if rule.requires else ""))
    if rule.tags:
        facts.append(f"- Tags: {', '.join(rule.tags)}")
    if rule.fixable:
        facts.append("- Fixable: `cloudlab-lint --fix` (or the `cloudlab-lint-fix` hook) applies a safe fix")
    facts.append(f"- Defined in: [`{source}`](../../{source})")
    parts = [GENERATED, "", f"# {rule.id} `{rule.name}`", "", rule.short, "", *facts, "", "## What it checks", "",
             rule.full, "", "## Why", "", rule.help.why, "", "## How to fix", "", rule.help.fix]
    if rule.help.example:
        parts += ["", "## Example", "", "```", rule.help.example, "```"]
    if rule.params:
        parts += ["", "## Parameters", "", "Defaults; set them in `.cloudlab-lint.yaml` under "
                  f"`rules: {{{rule.id}: {{params: ...}}}}`.", "", "```yaml"]
        parts += [f"{key}: {json.dumps(value)}" for key, value in rule.params.items()]
        parts += ["```"]
    parts += ["", "## Suppressing it", "",
              f"- On one line: `# cloudlab-lint: disable={rule.id} reason` on the line or the line above "
              f"(`disable={rule.name}` works too).",
              f"- For some paths: `ignore: {{\"archive/**\": [{rule.id}]}}` in `.cloudlab-lint.yaml`.",
              f"- Everywhere: `rules: {{{rule.id}: {{enabled: false}}}}` in `.cloudlab-lint.yaml`.", ""]
    return "\n".join(parts)


def config_schema() -> str:
    """The config's JSON Schema with its `$id` at the one project URL."""
    from .config import SCHEMA_FILE
    from .project import config_schema_url

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schema["$id"] = config_schema_url()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    before, found, rest = text.partition(start)
    if not found or end not in rest:
        raise SystemExit(f"README.md: the {start.strip()} ... {end} markers are missing")
    return before + start + body + end + rest.split(end, 1)[1]


def usage_section() -> str:
    """The README's user section: every `uses:` and `repo:` line derives from the one project URL."""
    from . import __version__
    from .project import config_schema_url, project_url, repo_slug

    url, slug = project_url(), repo_slug()
    return f"""Needs Python >= 3.11 and `git`. Three ways in, one engine behind them:

- **GitHub Action** (SARIF to code scanning, annotations, the job summary; see [action.yml](action.yml)):

  ```yaml
  jobs:
    cloudlab-lint:
      runs-on: ubuntu-latest
      permissions: {{contents: read, security-events: write}}
      steps:
        - uses: actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 # v6.1.0
          with: {{fetch-depth: 0, persist-credentials: false}}   # full history for `history: true`
        - uses: {slug}@<full commit SHA>   # v{__version__}
          with: {{history: true}}
  ```

- **pre-commit** (`.pre-commit-config.yaml`; no release is tagged yet: pin a commit, as `pre-commit autoupdate
  --freeze` does):

  ```yaml
  repos:
    - repo: {url}
      rev: <full commit SHA>   # v{__version__}
      hooks:
        - id: cloudlab-lint
        - id: cloudlab-lint-fix
  ```

- **pipx**: `pipx install git+{url}`, then `cloudlab-lint --all` in your repository
  (`cloudlab-lint init` scaffolds the design's repository in an empty one).

The configuration, `.cloudlab-lint.yaml`, is validated against [a JSON Schema](cloudlab_lint/config.schema.json);
editors with the YAML language server complete and check it when its first line is:

```yaml
# yaml-language-server: $schema={config_schema_url()}
```
"""


def check_index() -> str:
    """`cloudlab_lint/checks/index.py`: which module registers each check and prefilter, read from the
    `@check("name")` and `@prefilter("name")` decorators of `checks/*.py` (never imported to find out)."""
    import ast

    found: dict[str, dict[str, str]] = {"check": {}, "prefilter": {}}
    for path in sorted((Path(__file__).resolve().parent / "checks").glob("*.py")):
        if path.name in ("__init__.py", "index.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Name) and deco.func.id in found
                        and deco.args and isinstance(deco.args[0], ast.Constant)):
                    name = str(deco.args[0].value)
                    if name in found[deco.func.id]:
                        raise SystemExit(f"{path}: {deco.func.id} {name!r} is registered twice")
                    found[deco.func.id][name] = path.stem

    def table(kind: str) -> str:
        return "".join(f"    {json.dumps(name)}: {json.dumps(mod)},\n" for name, mod in sorted(found[kind].items()))

    return (f'"""{GENERATED_PY}"""\n\nCHECKS = {{\n{table("check")}}}\nPREFILTERS = {{\n{table("prefilter")}}}\n')


GENERATED_PY = ("Which module registers each check (`@check`) and prefilter (`@prefilter`). Generated from "
                "checks/*.py by\n`python -m cloudlab_lint.gen`: edit the decorators, not this file.")


def outputs(catalog: Catalog | None = None, root: Path = PROJECT) -> dict[Path, str]:
    """Every generated file and its content."""
    from . import hookgen
    from .ruledocs import rules_markdown

    catalog = catalog or load_catalog()
    builtin = [r for r in catalog.rules if r.builtin]
    out = {root / ".pre-commit-hooks.yaml": hookgen.render(catalog), root / CONFIG_SCHEMA_PATH: config_schema(),
           root / "cloudlab_lint" / "checks" / "index.py": check_index(),
           root / "cloudlab_lint" / "data" / "rules.json": shipped_rules_json()}
    for rule in builtin:
        out[root / "docs" / "rules" / f"{rule.id}.md"] = rule_page(rule)
    readme = (root / "README.md").read_text(encoding="utf-8")
    readme = _replace_between(readme, "rules", rules_markdown(catalog))
    readme = _replace_between(readme, "usage", usage_section())
    out[root / "README.md"] = readme
    return out


def stale(root: Path = PROJECT) -> list[str]:
    """What differs from what `gen` would write (and rule pages of rules that no longer exist)."""
    wanted = outputs(root=root)
    out = [str(p.relative_to(root)) for p, text in wanted.items()
           if not p.is_file() or p.read_text(encoding="utf-8") != text]
    folder = root / "docs" / "rules"
    if folder.is_dir():
        out += [str(p.relative_to(root)) + " (no such rule)" for p in sorted(folder.iterdir())
                if RULE_PAGE.match(p.name) and p not in wanted]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cloudlab_lint.gen", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    args = p.parse_args(argv)
    if args.check:
        old = stale()
        for name in old:
            print(f"stale: {name}", file=sys.stderr)
        if old:
            print("run `python -m cloudlab_lint.gen`", file=sys.stderr)
        return 1 if old else 0
    from .atomic import write_atomic

    wanted = outputs()
    for path, text in wanted.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text.encode("utf-8"))
            print(f"wrote {path.relative_to(PROJECT)}", file=sys.stderr)
    for path in sorted((PROJECT / "docs" / "rules").iterdir()):
        if RULE_PAGE.match(path.name) and path not in wanted:
            path.unlink()
            print(f"removed {path.relative_to(PROJECT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
