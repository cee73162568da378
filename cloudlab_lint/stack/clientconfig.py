"""Client configs by content: a kubeconfig or talosconfig with a credential in clear (CL002, CL006).

A kubeconfig is a kubeconfig by what it holds (`clusters`, and `users` with a client key, a token, a
password or OIDC tokens in clear), whatever its name; a talosconfig by a context holding its client `key`.
Values that are references (`refs.is_reference`: `${VAR}`, ...) are no credentials. YAML or JSON, any
style; text that is not YAML (a kubeconfig pasted into notes) is judged line by line.
"""

from __future__ import annotations

from typing import Any

from .. import linear
from .refs import is_reference

# RE2 (linear time): `^\s*` under `(?m)` would backtrack over every blank line with Python's `re`.
KUBE_CREDENTIAL = linear.lazy(r"(?m)^\s*(client-key-data|token|password|client-key):\s*\S")
TALOS_KEY = linear.lazy(r"(?m)^\s*key:\s*[A-Za-z0-9+/=]{40,}\s*$")
# Credentials a kubeconfig user holds in clear (`client-key`, `tokenFile` are paths to files elsewhere).
_KUBE_CREDENTIALS = ("client-key-data", "token", "password")
_AUTH_PROVIDER_CREDENTIALS = ("client-secret", "id-token", "refresh-token", "access-token")


def client_config(text: str, named: bool) -> tuple[str, int] | None:
    """A kubeconfig or talosconfig with a credential in clear, by content: parsed (YAML or JSON, any
    style) when the text mentions what one holds, or `named` (its name says kubeconfig or talosconfig);
    text that is not YAML (a pasted excerpt) by lines."""
    if not named and not (("users" in text and "clusters" in text) or ("contexts" in text and "key" in text)):
        return None
    from ..parsing import ParseError
    from ..parsing.yamlx import json_as_yaml, load_documents

    try:
        docs = load_documents(json_as_yaml(text) if text.lstrip().startswith("{") else text)
    except ParseError:
        return _client_config_lines(text)
    for doc in docs:
        found = _kube_credential(doc.data) or _talos_key(doc.data)
        if found:
            return found
    return None


def _kube_credential(data: Any) -> tuple[str, int] | None:
    if not isinstance(data, dict) or not isinstance(data.get("users"), list) or "clusters" not in data:
        return None
    for entry in data["users"]:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        for key in _KUBE_CREDENTIALS:
            if key in user and not is_reference(user[key]):
                return f"a kubeconfig with a credential in clear (`{key}`)", _key_line(user, key)
        provider = user.get("auth-provider")
        config = provider.get("config") if isinstance(provider, dict) else None
        for key in _AUTH_PROVIDER_CREDENTIALS if isinstance(config, dict) else ():
            if key in config and not is_reference(config[key]):
                return f"a kubeconfig with a credential in clear (`{key}`)", _key_line(config, key)
    return None


def _talos_key(data: Any) -> tuple[str, int] | None:
    contexts = data.get("contexts") if isinstance(data, dict) else None
    if not isinstance(contexts, dict):
        return None
    for context in contexts.values():
        if isinstance(context, dict) and "key" in context and not is_reference(context["key"]):
            return "a talosconfig with its client key in clear", _key_line(context, "key")
    return None


def _key_line(node: Any, key: str) -> int:
    return node.key_line(key) if hasattr(node, "key_line") else 1


def _client_config_lines(text: str) -> tuple[str, int] | None:
    if "kind: Config" in text and "clusters:" in text and "users:" in text:
        cred = KUBE_CREDENTIAL.search(text)
        if cred:
            return f"a kubeconfig with a credential in clear (`{cred.group(1)}`)", _line_of(text, cred.start(1))
    if "contexts:" in text and "crt:" in text:
        key = TALOS_KEY.search(text)
        if key:
            return "a talosconfig with its client key in clear", _line_of(text, key.start())
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
