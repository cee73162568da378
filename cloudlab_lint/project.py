"""The one canonical project URL (`[project.urls] Homepage` in pyproject.toml) and the links derived from it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from . import __version__

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
DOCS_BRANCH = "main"


@cache
def project_url() -> str:
    """From pyproject.toml in a source checkout (the authority), else from the installed metadata."""
    if _PYPROJECT.is_file():
        import tomllib

        try:
            data = tomllib.loads(_PYPROJECT.read_text(encoding="utf-8"))
            if data.get("project", {}).get("name") == "cloudlab-lint":
                return str(data["project"]["urls"]["Homepage"]).rstrip("/")
        except (OSError, ValueError, KeyError, TypeError):
            pass
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        for entry in metadata("cloudlab-lint").get_all("Project-URL") or ():
            label, _, url = entry.partition(",")
            if label.strip().lower() == "homepage":
                return url.strip().rstrip("/")
    except PackageNotFoundError:
        pass
    return "https://github.com/cloudlab/cloudlab-lint"


def repo_slug() -> str:
    """`owner/name` of the project on GitHub, for `uses:` lines."""
    url = project_url()
    return "/".join(url.removeprefix("https://github.com/").split("/")[:2])


def blob_url(path: str) -> str:
    return f"{project_url()}/blob/{DOCS_BRANCH}/{path}"


def rule_doc_path(rule_id: str) -> str:
    return f"docs/rules/{rule_id}.md"


def rule_help_uri(rule_id: str) -> str:
    """The page `python -m cloudlab_lint.gen` writes for a built-in rule (SARIF `helpUri`)."""
    return blob_url(rule_doc_path(rule_id))


def raw_url(path: str) -> str:
    """The file itself (not GitHub's page about it): what an editor's schema loader fetches."""
    return f"https://raw.githubusercontent.com/{repo_slug()}/{DOCS_BRANCH}/{path}"


CONFIG_SCHEMA_PATH = "cloudlab_lint/config.schema.json"


def config_schema_url() -> str:
    return raw_url(CONFIG_SCHEMA_PATH)


def release_tag() -> str:
    return f"v{__version__}"
