"""The floor of `cloudlab-lint --all`: read every tracked file's bytes once and parse every tracked YAML file
with libyaml (PyYAML's CSafeLoader, `yaml.load_all`), in a fresh interpreter; what any linter of the whole
tree must at least do.

    python bench/floor.py REPO

Prints: YAML files, YAML documents, YAML files that failed to parse, YAML bytes, files, bytes.
"""
import os
import stat
import subprocess
import sys

import yaml

root = sys.argv[1]
out = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=True).stdout
n = docs = errors = size = files = total = 0
for rel in out.decode("utf-8", "surrogateescape").split("\0"):
    if not rel:
        continue
    path = f"{root}/{rel}"
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            continue
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        continue
    files += 1
    total += len(data)
    if not rel.endswith((".yaml", ".yml")):
        continue
    n += 1
    size += len(data)
    try:
        docs += sum(1 for _ in yaml.load_all(data, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        errors += 1
print(n, docs, errors, size, files, total)
