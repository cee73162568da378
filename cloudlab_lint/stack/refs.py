"""Templates, public keys and references: names and values that hold no secret of their own.

The one home of these predicates (catalog: "Templates and references are not values"). A template
(`*.j2`, `*.tmpl`, `*.example`, ...) is rendered or copied by a tool before anything applies it, so it is
never a manifest, never a SOPS file by name and never an orphan; a public key (`*.pub`, `*.asc`,
`.sops.pub.*`, as Flux's SOPS guide commits it) is never a file that must be encrypted; a value that is
only a reference (`${VAR}`, `$VAR`, `op://...`, `ref+...`, `{{ ... }}`, `#{ ... }#`, `<placeholder>`,
`<< inputs.x >>`) is filled in by another tool and holds no secret. None of this exempts the content
detectors (CL005, CL002 by content): a template or a `.pub` file holding a real token is still a finding.

Cheap to import (the commit hook's start-up): `re` and nothing of the project's.
"""

from __future__ import annotations

import re
from collections.abc import Container

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".tmpl", ".tpl", ".gotmpl", ".example", ".sample", ".dist")
PUBLIC_KEY_SUFFIXES = (".pub", ".asc")
# Longer values are never taken for references: it bounds the work per value, and a reference is short.
MAX_REFERENCE_LENGTH = 1024

# Reference tokens inside a value; what is left once they are gone must hold no letter or digit.
# Negated classes only (no nested quantifiers): linear per start, and values are bounded above.
_TOKENS = re.compile(
    r"\$\{[^{}]*\}"                 # ${VAR}, ${VAR:=default} (Flux post-build, envsubst)
    r"|\$[A-Za-z_][A-Za-z0-9_]*"    # $VAR
    r"|\{\{[^{}]*\}\}"              # {{ .Values.x }}, {{ op://... }} (Go templates, Jinja)
    r"|\{%[^{}]*%\}"                # {% if %} (Jinja statements)
    r"|#\{[^{}]*\}#"                # #{ token }# (Azure DevOps replace-tokens)
    r"|<<\s*inputs\.[^<>]*>>"       # << inputs.x >> (flux-operator ResourceSet)
)
# A value that is a reference as a whole.
_WHOLE = re.compile(
    r"op://\S+"                     # 1Password secret reference
    r"|ref\+[a-z0-9]+://\S*"        # vals (ref+vault://, ref+awssecrets://, ...)
    r"|<[^<>\s][^<>]*>"             # <placeholder>, <your token here>
)


def file_name(path: str) -> str:
    return path.rpartition("/")[2]


def is_template_name(path: str) -> bool:
    """A template by its name: rendered or copied before use, never applied as it is."""
    return file_name(path).lower().endswith(TEMPLATE_SUFFIXES)


def is_public_key_name(path: str) -> bool:
    """A public key by its name (`*.pub`, `*.asc`, `.sops.pub.*`): committed on purpose, never encrypted."""
    name = file_name(path).lower()
    return name.endswith(PUBLIC_KEY_SUFFIXES) or name.startswith(".sops.pub.") or ".sops.pub." in name


def is_reference(value: object) -> bool:
    """Whether a scalar holds no value of its own: empty, or only references (with punctuation between,
    as in `${SCHEME}://${HOST}`)."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False  # a number or a boolean is a literal
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()  # a quoted reference inside a block scalar
    if not text:
        return True
    if len(text) > MAX_REFERENCE_LENGTH:
        return False
    if _WHOLE.fullmatch(text):
        return True
    rest = _TOKENS.sub("", text)
    return rest != text and not any(ch.isalnum() for ch in rest)


def is_chart_template(path: str, files: Container[str]) -> bool:
    """Under the `templates/` folder of a Helm chart: a folder named `templates` whose parent holds a
    `Chart.yaml` (`files`: the repository's tracked paths)."""
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "templates" and "/".join([*parts[:i], "Chart.yaml"]) in files:
            return True
    return False
