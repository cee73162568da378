"""Generate a GitOps repository of realistic shape for the speed benchmark.

    python bench/genrepo.py DEST [--scale 1.0] [--seed 8]

At scale 1: 5,000 YAML manifests under kubernetes/ (the Flux tree of the design: flux-system,
infrastructure, apps), 200 Flux Kustomizations, 100 SOPS-encrypted-shaped Secrets (age
recipients, ENC[...] values, a sops: block; fake ciphertext), 30 GitHub workflows, plus
.mise.toml, lefthook.yml, .sops.yaml, .gitignore, a Talos and a Terraform folder. Everything
scales linearly with --scale. The result is a git repository with one commit.
Deterministic for a given seed; no network.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import subprocess
from pathlib import Path

MANIFESTS, KUSTOMIZATIONS, SOPS_FILES, WORKFLOWS = 5000, 200, 100, 30
INFRA_SHARE = 0.2  # of the Flux Kustomizations, how many are infrastructure
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


class Gen:
    def __init__(self, dest: Path, seed: int) -> None:
        self.dest = dest
        self.rng = random.Random(seed)
        self.count = 0  # YAML files under kubernetes/

    def write(self, rel: str, text: str) -> None:
        path = self.dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if rel.startswith("kubernetes/") and rel.endswith(".yaml"):
            self.count += 1

    def b64(self, n: int) -> str:
        return base64.b64encode(self.rng.randbytes(n)).decode()

    def enc(self, n: int) -> str:
        return f"ENC[AES256_GCM,data:{self.b64(n)},iv:{self.b64(32)},tag:{self.b64(16)},type:str]"

    def age_recipient(self) -> str:
        """A well-formed age X25519 recipient (bech32, valid checksum) for random key bytes."""
        key = self.rng.randbytes(32)
        acc, bits, data = 0, 0, []
        for byte in key:  # 8-bit to 5-bit groups
            acc, bits = (acc << 8) | byte, bits + 8
            while bits >= 5:
                bits -= 5
                data.append((acc >> bits) & 31)
        if bits:
            data.append((acc << (5 - bits)) & 31)
        values = [ord(c) >> 5 for c in "age"] + [0] + [ord(c) & 31 for c in "age"] + data + [0] * 6
        polymod = 1
        for v in values:
            top, polymod = polymod >> 25, (polymod & 0x1FFFFFF) << 5 ^ v
            for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
                polymod ^= gen if (top >> i) & 1 else 0
        checksum = [(polymod ^ 1) >> 5 * (5 - i) & 31 for i in range(6)]
        return "age1" + "".join(BECH32[d] for d in data + checksum)


def kustomization(resources: list[str], comment: str = "") -> str:
    head = f"# {comment}\n" if comment else ""
    items = "".join(f"  - {r}\n" for r in resources) if resources else ""
    body = f"resources:{'' if items else ' []'}\n{items}"
    return f"{head}apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n{body}"


def flux_ks(name: str, path: str, depends: list[str], sops: bool, wait: bool = True,
            target_namespace: bool = True) -> str:
    """A Flux Kustomization. A stage that applies other Flux Kustomizations sets no targetNamespace: it
    would move them out of flux-system, away from the GitRepository they name (as Flux itself does)."""
    deps = "".join(f"    - name: {d}\n" for d in depends)
    target = f"  targetNamespace: {name.split('-')[0]}\n" if target_namespace else ""
    text = (f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n"
            f"  namespace: flux-system\nspec:\n  interval: 30m\n  retryInterval: 1m\n  timeout: 5m\n"
            f"  path: ./{path}\n  prune: true\n  wait: {str(wait).lower()}\n  sourceRef:\n    kind: GitRepository\n"
            f"    name: flux-system\n{target}")
    if deps:
        text += f"  dependsOn:\n{deps}"
    if sops:
        text += "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    return text


def workload(g: Gen, kind: str, name: str, ns: str, i: int) -> str:
    meta = f"metadata:\n  name: {name}-{kind.lower()}-{i}\n  namespace: {ns}\n  labels:\n" \
           f"    app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: {ns}\n"
    if kind == "Deployment":
        return (f"apiVersion: apps/v1\nkind: Deployment\n{meta}spec:\n  replicas: {g.rng.randint(1, 3)}\n"
                f"  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  template:\n    metadata:\n"
                f"      labels:\n        app.kubernetes.io/name: {name}\n    spec:\n      containers:\n"
                f"        - name: {name}\n          image: ghcr.io/example/{name}:1.{g.rng.randint(0, 30)}.0\n"
                f"          ports:\n            - containerPort: {g.rng.randint(3000, 9000)}\n"
                f"          resources:\n            requests: {{cpu: 10m, memory: 64Mi}}\n"
                f"            limits: {{memory: 256Mi}}\n          env:\n            - name: TZ\n"
                f"              value: Europe/Berlin\n            - name: LOG_LEVEL\n              value: info\n")
    if kind == "HelmRelease":
        return (f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n{meta}spec:\n  interval: 30m\n"
                f"  chart:\n    spec:\n      chart: app-template\n      version: 3.{g.rng.randint(0, 7)}.0\n"
                f"      sourceRef:\n        kind: HelmRepository\n        name: bjw-s\n        namespace: flux-system\n"
                f"  values:\n    controllers:\n      main:\n        containers:\n          main:\n"
                f"            image:\n              repository: ghcr.io/example/{name}\n              tag: v{i}\n"
                f"    service:\n      main:\n        ports:\n          http:\n            port: 80\n")
    if kind == "Service":
        return (f"apiVersion: v1\nkind: Service\n{meta}spec:\n  selector:\n    app.kubernetes.io/name: {name}\n"
                f"  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n")
    if kind == "Ingress":
        return (f"apiVersion: networking.k8s.io/v1\nkind: Ingress\n{meta}spec:\n  ingressClassName: internal\n"
                f"  rules:\n    - host: {name}-{i}.example.internal\n      http:\n        paths:\n"
                f"          - path: /\n            pathType: Prefix\n            backend:\n              service:\n"
                f"                name: {name}\n                port:\n                  number: 80\n")
    if kind == "PersistentVolumeClaim":
        return (f"apiVersion: v1\nkind: PersistentVolumeClaim\n{meta}spec:\n  accessModes: [ReadWriteOnce]\n"
                f"  storageClassName: ceph-block\n  resources:\n    requests:\n"
                f"      storage: {g.rng.randint(1, 50)}Gi\n")
    lines = "".join(f"  KEY_{k}: \"value-{g.rng.randint(0, 10**6)}\"\n" for k in range(g.rng.randint(3, 12)))
    return f"apiVersion: v1\nkind: ConfigMap\n{meta}data:\n{lines}"


KINDS = ("Deployment", "Service", "ConfigMap", "HelmRelease", "Ingress", "PersistentVolumeClaim")


def sops_secret(g: Gen, name: str, ns: str, recipient: str) -> str:
    data = "".join(f"  KEY_{k}: {g.enc(g.rng.randint(8, 48))}\n" for k in range(g.rng.randint(1, 6)))
    armor = "\n".join(f"        {g.b64(48)}" for _ in range(5))
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}-secret\n  namespace: {ns}\ntype: Opaque\n"
            f"stringData:\n{data}sops:\n  age:\n    - recipient: {recipient}\n      enc: |\n"
            f"        -----BEGIN AGE ENCRYPTED FILE-----\n{armor}\n        -----END AGE ENCRYPTED FILE-----\n"
            f"  lastmodified: \"2026-0{g.rng.randint(1, 9)}-1{g.rng.randint(0, 9)}T10:00:00Z\"\n"
            f"  mac: {g.enc(64)}\n  encrypted_regex: ^(data|stringData)$\n  version: 3.10.2\n")


def helm_repository(ns: str) -> str:
    return (f"apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: bjw-s\n"
            f"  namespace: {ns}\nspec:\n  interval: 1h\n  url: https://bjw-s-labs.github.io/helm-charts\n")


MISE = """[tools]
flux2 = "2.7.5"
kustomize = "5.7.1"
kubeconform = "0.7.0"
terraform = "1.9.8"
tflint = "0.53.0"
gitleaks = "8.21.2"
sops = "3.10.2"

[tasks.check]
description = "everything CI runs"
run = [
  "terraform -chdir=terraform fmt -check",
  "terraform -chdir=terraform validate",
  "tflint --chdir=terraform",
  "kustomize build kubernetes/ | kubeconform -strict -ignore-missing-schemas",
  "gitleaks git --redact",
  "cloudlab-lint --all",
]
"""
LEFTHOOK = """pre-commit:
  commands:
    terraform-fmt:
      glob: "*.tf"
      run: terraform fmt -check {staged_files}
    kustomize:
      glob: "kubernetes/**/*.yaml"
      run: kustomize build kubernetes/ > /dev/null
    gitleaks:
      run: gitleaks protect --staged --redact
    cloudlab-lint:
      run: cloudlab-lint {staged_files}
"""


def workflow(g: Gen, i: int) -> str:
    sha = "".join(g.rng.choice("0123456789abcdef") for _ in range(40))
    steps = "".join(f"      - name: step {s}\n        run: |\n          echo step {s}\n          make target-{s}\n"
                    for s in range(g.rng.randint(2, 8)))
    if i == 0:  # the gate: mise run check through jdx/mise-action, and a secret scan of the history
        steps = ("      - uses: jdx/mise-action@5228313ee0372e111a38da051671ca30fc5a96db # v3.6.3\n"
                 "      - run: mise run check\n      - run: cloudlab-lint --all --history\n")
    trigger = "  pull_request:\n  push:\n    branches: [main]\n" if i == 0 else "  workflow_dispatch:\n"
    return (f"name: workflow-{i}\non:\n{trigger}permissions:\n  contents: read\n"
            f"jobs:\n  job-{i}:\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - uses: actions/checkout@{sha} # v4.2.2\n        with:\n          persist-credentials: false\n"
            f"{steps}")


def generate(dest: Path, scale: float = 1.0, seed: int = 8) -> dict[str, int]:
    g = Gen(dest, seed)
    n_ks = max(2, round(KUSTOMIZATIONS * scale))
    n_sops = round(SOPS_FILES * scale)
    n_infra = max(1, round(n_ks * INFRA_SHARE))
    n_apps = n_ks - n_infra
    recipient = g.age_recipient()
    g.write(".gitignore", "terraform.tfstate*\n*.tfstate\n*.tfstate.*\n.terraform/\n.age-key.txt\n*.agekey\n"
            "kubeconfig\ntalosconfig\n*.decrypted.*\n")
    g.write(".sops.yaml", f"creation_rules:\n  - path_regex: kubernetes/.*\\.sops\\.ya?ml$\n"
            f"    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n")
    # flux-system: the bootstrap pair, the two chain Kustomizations, a big gotk-components.yaml
    crds = "".join(f"---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
                   f"  name: thing{i}.toolkit.fluxcd.io\nspec:\n  group: toolkit.fluxcd.io\n  names:\n"
                   f"    kind: Thing{i}\n    plural: thing{i}s\n  scope: Namespaced\n  versions:\n    - name: v1\n"
                   f"      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n"
                   f"          type: object\n          properties:\n"
                   + "".join(f"            field{k}:\n              type: string\n              description: "
                             f"Field {k} of thing {i}, a long description as real CRDs have.\n" for k in range(40))
                   for i in range(max(1, round(60 * min(scale, 1.0)))))
    g.write("kubernetes/flux-system/gotk-components.yaml",
            "# This manifest was generated by flux. DO NOT EDIT.\n" + crds)
    g.write("kubernetes/flux-system/gotk-sync.yaml",
            "# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\n"
            "kind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n"
            "  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@github.com/example/home-ops\n"
            "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n"
            "  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./kubernetes\n  prune: true\n  sourceRef:\n"
            "    kind: GitRepository\n    name: flux-system\n")
    g.write("kubernetes/flux-system/infrastructure.yaml",
            flux_ks("infrastructure", "kubernetes/infrastructure", ["flux-system"], False, target_namespace=False))
    g.write("kubernetes/flux-system/apps.yaml",
            flux_ks("apps", "kubernetes/apps", ["infrastructure"], False, target_namespace=False))
    g.write("kubernetes/flux-system/helmrepository-bjw-s.yaml", helm_repository("flux-system"))
    g.write("kubernetes/flux-system/kustomization.yaml", kustomization(
        ["gotk-components.yaml", "gotk-sync.yaml", "infrastructure.yaml", "apps.yaml", "helmrepository-bjw-s.yaml"]))
    g.write("kubernetes/kustomization.yaml", kustomization(["flux-system"], "the bootstrap applies flux-system only"))
    # Units: one Flux Kustomization each, grouped by namespace; manifests spread evenly.
    # Infrastructure components sit directly under infrastructure/ with their Namespace and chart
    # source (the design's layout); apps are grouped by namespace.
    units = [("infrastructure", f"component{i}", f"component{i}") for i in range(n_infra)]
    units += [("apps", f"ns{i // 8}", f"app{i}") for i in range(n_apps)]
    fixed = g.count + 2 * len(units) + 2 * n_infra + 2 * len({ns for layer, ns, _ in units if layer == "apps"})
    fixed += 2 + n_sops
    per_unit, extra = divmod(max(0, round(MANIFESTS * scale) - fixed), len(units))
    sops_every = max(1, len(units) // n_sops) if n_sops else 0
    sops_left = n_sops
    namespaces: dict[tuple[str, str], list[str]] = {}
    for index, (layer, ns, name) in enumerate(units):
        base = f"kubernetes/{layer}/{ns}" if layer == "infrastructure" else f"kubernetes/{layer}/{ns}/{name}"
        with_sops = bool(sops_left) and index % sops_every == 0
        sops_left -= with_sops
        files = []
        if layer == "infrastructure":
            g.write(f"{base}/app/namespace.yaml", f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
            g.write(f"{base}/app/helmrepository.yaml", helm_repository(ns))
            files += ["namespace.yaml", "helmrepository.yaml"]
        for k in range(per_unit + (1 if index < extra else 0)):
            kind = KINDS[k % len(KINDS)]
            fname = f"{kind.lower()}-{k}.yaml"
            text = workload(g, kind, name, ns, k)
            if layer == "infrastructure":
                text = text.replace("namespace: flux-system\n", f"namespace: {ns}\n")
            g.write(f"{base}/app/{fname}", text)
            files.append(fname)
        if with_sops:
            g.write(f"{base}/app/secret.sops.yaml", sops_secret(g, name, ns, recipient))
            files.append("secret.sops.yaml")
        g.write(f"{base}/app/kustomization.yaml", kustomization(files))
        depends = ["infrastructure"] if layer == "apps" else []
        if index % 5 == 1 and namespaces.get((layer, ns)):
            depends.append(namespaces[(layer, ns)][-1])
        g.write(f"{base}/ks.yaml", flux_ks(name, f"{base}/app", depends, with_sops))
        namespaces.setdefault((layer, ns), []).append(name)
    for (layer, ns), names in namespaces.items():
        if layer == "infrastructure":
            continue
        g.write(f"kubernetes/{layer}/{ns}/namespace.yaml",
                f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
        g.write(f"kubernetes/{layer}/{ns}/kustomization.yaml",
                kustomization(["namespace.yaml"] + [f"{n}/ks.yaml" for n in names]))
    for layer in ("infrastructure", "apps"):
        entries = [f"{ns}/ks.yaml" if layer == "infrastructure" else ns for lay, ns in namespaces if lay == layer]
        g.write(f"kubernetes/{layer}/kustomization.yaml", kustomization(sorted(entries)))
    for i in range(max(1, round(WORKFLOWS * scale))):
        g.write(f".github/workflows/workflow-{i}.yaml", workflow(g, i))
    g.write(".mise.toml", MISE)
    g.write("lefthook.yml", LEFTHOOK)
    g.write("talos/talconfig.yaml", "clusterName: home\nendpoint: https://10.0.0.10:6443\nnodes:\n"
            + "".join(f"  - hostname: node{i}\n    ipAddress: 10.0.0.{20 + i}\n" for i in range(3)))
    g.write("terraform/main.tf", "terraform {\n  required_version = \">= 1.9\"\n}\n")
    g.write("README.md", "# home-ops (generated for the cloudlab-lint benchmark)\n")
    _commit(dest)
    return {"manifests": g.count, "flux_kustomizations": len(units) + 3, "sops_files": n_sops,
            "workflows": max(1, round(WORKFLOWS * scale))}


def _commit(dest: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "generated"]):
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dest", type=Path)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=8)
    args = p.parse_args(argv)
    if args.dest.exists() and any(args.dest.iterdir()):
        p.error(f"{args.dest} exists and is not empty")
    args.dest.mkdir(parents=True, exist_ok=True)
    print(generate(args.dest, args.scale, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
