from __future__ import annotations

import pytest

SCRUB = ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY",
         "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "PRE_COMMIT", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE")


@pytest.fixture(scope="session")
def empty_git_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty file for git's global config: /dev/null would do, unless something on a shared machine
    has turned it into a regular file."""
    path = tmp_path_factory.mktemp("gitconfig") / "empty"
    path.write_bytes(b"")
    return str(path)


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, empty_git_config: str) -> None:
    """No tokens, no colour, no user or system git config, fixed identities and dates."""
    for name in SCRUB:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", empty_git_config)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Fixture")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "fixture@example.invalid")
        monkeypatch.setenv(f"GIT_{role}_DATE", "2026-01-01T00:00:00Z")
