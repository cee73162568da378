"""`cloudlab-lint init`: the design's repository ("Bootstrap Flux") scaffolded in the current git repository.

Writes only files that do not exist (never overwrites, never follows a link out), each whole; what the user must
replace (the age public key, the action's commit SHA, the Flux GitRepository's URL) is named when it finishes.
The result passes `cloudlab-lint --all` apart from those placeholders.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import UsageError

# A syntactically plausible age recipient that is not a valid key: CL004 names it until it is replaced.
AGE_PLACEHOLDER = "age1replacewithyourpublickeyfromagekeygenxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
SHA_PLACEHOLDER = "0" * 40
CHECKOUT = "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 # v6.1.0"
MISE_ACTION = "jdx/mise-action@5228313ee0372e111a38da051671ca30fc5a96db # v3.6.3"


def _flux_kustomization(name: str, depends: str) -> str:
    dep = f"  dependsOn:\n    - name: {depends}\n"
    return f"""apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: 10m
  retryInterval: 2m
  timeout: 5m
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./kubernetes/{name}
  prune: true
  wait: true
  decryption:
    provider: sops
    secretRef:
      name: sops-age
{dep}"""


def files(git_url: str) -> dict[str, str]:
    """Every file of the scaffold, by repository path."""
    from . import __version__
    from .project import config_schema_url, project_url, repo_slug

    kustomize = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    return {
        ".gitignore": "# Never commit (cloudlab-lint CL001 checks this list)\nterraform.tfstate*\n*.tfstate\n"
                      "*.tfstate.*\n.terraform/\n.age-key.txt\n*.agekey\nkubeconfig\ntalosconfig\n*.decrypted.*\n",
        ".sops.yaml": "# SOPS encrypts Kubernetes Secrets and Terraform variables to this age public key.\n"
                      "# Replace the placeholder with the public key `age-keygen -o .age-key.txt` prints\n"
                      "# (the key file itself never leaves your machine: .gitignore covers it).\n"
                      "creation_rules:\n"
                      "  - path_regex: kubernetes/.*\\.sops\\.ya?ml$\n"
                      "    encrypted_regex: ^(data|stringData)$\n"
                      f"    age: {AGE_PLACEHOLDER}\n"
                      "  - path_regex: terraform/.*\\.sops\\.(ya?ml|json|tfvars)$\n"
                      f"    age: {AGE_PLACEHOLDER}\n",
        ".cloudlab-lint.yaml": f"# yaml-language-server: $schema={config_schema_url()}\n"
                               "gitops_root: kubernetes\n",
        ".mise.toml": """# Tool versions (`mise install`) and `mise run check`, the single source of truth:
# CI runs exactly this task.
[tools]
terraform = "1.9.8"
tflint = "0.53.0"
kustomize = "5.7.1"
kubeconform = "0.7.0"
flux2 = "2.7.5"
gitleaks = "8.21.2"

[tasks.terraform]
description = "format and validate the Terraform code"
run = [
  "terraform fmt -check -recursive",
  "[ ! -d terraform ] || terraform -chdir=terraform validate",
  "[ ! -d terraform ] || tflint --chdir=terraform",
]

[tasks.kubernetes]
description = "build and validate the Flux tree"
run = [
  "kustomize build kubernetes/ > /dev/null",
  "kustomize build kubernetes/flux-system | kubeconform -strict -ignore-missing-schemas -summary",
]

[tasks.secrets]
description = "secret scan over every commit"
run = "gitleaks git --redact"

[tasks.check]
description = "everything CI runs"
depends = ["terraform", "kubernetes", "secrets"]
""",
        "lefthook.yml": """# Fast checks on every commit (staged files only); `mise run check` is the thorough run.
pre-commit:
  parallel: true
  commands:
    terraform-fmt:
      glob: "*.tf"
      run: terraform fmt -check {staged_files}
    kustomize:
      glob: "kubernetes/**/*.{yaml,yml}"
      run: kustomize build kubernetes/ > /dev/null
    gitleaks:
      run: gitleaks git --staged --redact
""",
        ".pre-commit-config.yaml": f"""# cloudlab-lint on every commit: `pre-commit install`.
# Pin `rev` to a commit of {project_url()}
# (no release is tagged yet; `pre-commit autoupdate --freeze` pins one).
repos:
  - repo: {project_url()}
    rev: {SHA_PLACEHOLDER}  # v{__version__}
    hooks:
      - id: cloudlab-lint
      - id: cloudlab-lint-fix
      - id: cloudlab-history
""",
        ".github/workflows/check.yml": f"""# Every pull request runs `mise run check` (the single source of truth)
# and cloudlab-lint, whose findings go to code scanning. Every action is
# pinned to a full commit SHA; the version is in the comment.
name: check

on:
  pull_request:
  push:
    branches: [main]

permissions:
  contents: read

jobs:
  check:
    name: check
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0  # the secret scan reads every commit
          persist-credentials: false
      - uses: {MISE_ACTION}
      - name: mise run check
        run: mise run check

  cloudlab-lint:
    name: cloudlab-lint
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write  # the SARIF upload; only this job gets it
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0  # history: true scans every commit
          persist-credentials: false
      - uses: {repo_slug()}@{SHA_PLACEHOLDER} # v{__version__}
        with:
          history: true
""",
        "kubernetes/kustomization.yaml": "# The bootstrap Kustomization (path: ./kubernetes) applies only\n"
                                         "# flux-system/; infrastructure/ and apps/ belong to their own\n"
                                         "# Kustomizations (CL108).\n"
                                         f"{kustomize}resources:\n  - flux-system\n",
        "kubernetes/flux-system/gotk-components.yaml": "# Written by `flux bootstrap github --path=kubernetes`.\n",
        "kubernetes/flux-system/gotk-sync.yaml": f"""# Written by `flux bootstrap github --path=kubernetes`
# (this is what it writes).
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: flux-system
  url: {git_url}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./kubernetes
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
        "kubernetes/flux-system/kustomization.yaml": f"{kustomize}resources:\n  - gotk-components.yaml\n"
                                                    "  - gotk-sync.yaml\n  - infrastructure.yaml\n  - apps.yaml\n",
        "kubernetes/flux-system/infrastructure.yaml": _flux_kustomization("infrastructure", "flux-system"),
        "kubernetes/flux-system/apps.yaml": _flux_kustomization("apps", "infrastructure"),
        "kubernetes/infrastructure/kustomization.yaml": f"{kustomize}resources: []\n",
        "kubernetes/apps/kustomization.yaml": f"{kustomize}resources: []\n",
    }


def _git_url(root: Path) -> tuple[str, bool]:
    """The GitRepository URL Flux needs (ssh://, never scp-style), from `origin`; (placeholder, False) without."""
    from .gitcmd import GitError, git

    try:
        remote = git(root, "config", "--get", "remote.origin.url", check=True).decode().strip()
    except (GitError, UnicodeDecodeError):
        remote = ""
    from .stack.github import parse_remote

    slug = parse_remote(remote) if remote else None
    if slug:
        return f"ssh://git@github.com/{slug}", True
    return "ssh://git@github.com/OWNER/REPOSITORY", False


def _write_new(root: Path, rel: str, text: str) -> bool:
    """Create `rel` whole (temp file, then a link that fails if the name exists); False when it exists."""
    import tempfile

    target = root / rel
    if os.path.lexists(target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    real_root = Path(os.path.realpath(root))
    if real_root != Path(os.path.realpath(target.parent)) and real_root not in Path(
            os.path.realpath(target.parent)).parents:
        raise OSError(f"{rel}: its folder lies outside the repository")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cloudlab-init-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, target)  # atomic, and never replaces what appeared meanwhile
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    return True


def cmd_init(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cloudlab-lint init",
                                description="Scaffold the design's repository here; existing files are kept.")
    p.add_argument("--root", type=Path, help="repository root (default: the git top level of the cwd)")
    args = p.parse_args(argv)
    from .repo import locate_root

    root, is_git = locate_root(args.root, Path.cwd())
    if not is_git:
        raise UsageError(f"{root}: init needs a git repository (`git init` first)")
    url, from_origin = _git_url(root)
    written, kept = [], []
    for rel, text in files(url).items():
        try:
            (written if _write_new(root, rel, text) else kept).append(rel)
        except OSError as exc:
            raise UsageError(f"{rel}: cannot write: {exc.strerror or exc}") from None
    for rel in written:
        print(f"created {rel}")
    for rel in kept:
        print(f"kept    {rel} (exists)")
    from .project import repo_slug

    todo = []
    if ".sops.yaml" in written:
        todo.append(f".sops.yaml: replace {AGE_PLACEHOLDER[:12]}... with your age public key "
                    "(`age-keygen -o .age-key.txt`); until then CL004 reports it")
    if ".github/workflows/check.yml" in written:
        todo.append(f".github/workflows/check.yml: replace {repo_slug()}@{SHA_PLACEHOLDER[:7]}... with a commit SHA "
                    "of cloudlab-lint")
    if ".pre-commit-config.yaml" in written:
        todo.append(".pre-commit-config.yaml: set rev to a commit SHA of cloudlab-lint "
                    "(`pre-commit autoupdate --freeze`)")
    if "kubernetes/flux-system/gotk-sync.yaml" in written and not from_origin:
        todo.append("kubernetes/flux-system/gotk-sync.yaml: OWNER/REPOSITORY in the GitRepository url "
                    "(`flux bootstrap github --path=kubernetes` writes it)")
    if todo:
        print("\nPlaceholders to replace:")
        for line in todo:
            print(f"  - {line}")
    print("\nThen: git add -A && cloudlab-lint --all", file=sys.stderr)
    return 0
