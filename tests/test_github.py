"""CL301 and the GitHub client against a real HTTP server on 127.0.0.1 that answers like the GitHub API.

The server is a threaded http.server; answers are shaped as in facts.md (b): status codes, `message` bodies,
rate-limit headers, Link pagination. Every scenario runs the CLI in-process and checks that the token never
appears in stdout or stderr. No test sleeps: the client's `sleep` is replaced by a recorder, and the one
timeout scenario uses a short injected timeout with a bounded number of attempts.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudlab_lint.stack import github

from .helpers import commit_all, git, init_repo, run_cli, write_files

TOKEN = "FAKE-fixture-token-never-to-be-printed-0000"  # obviously fake; must never appear in any output
SLUG = "acme/gitops"
PROTECTION = "/repos/acme/gitops/branches/main/protection"
RULES = "/repos/acme/gitops/rules/branches/main"
WORKFLOW = """\
name: check
on:
  pull_request:
    branches: [main]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: jdx/mise-action@v2
      - run: mise run check
"""
JOB_LINE = 6

FULL_CLASSIC: dict[str, Any] = {
    "url": "https://api.github.com/repos/acme/gitops/branches/main/protection",
    "required_status_checks": {"strict": True, "contexts": ["check"],
                               "checks": [{"context": "check", "app_id": 15368}]},
    "enforce_admins": {"enabled": True},
    "required_pull_request_reviews": {"dismiss_stale_reviews": True, "require_code_owner_reviews": False,
                                      "required_approving_review_count": 0, "require_last_push_approval": False},
    "required_linear_history": {"enabled": True},
    "allow_force_pushes": {"enabled": False},
    "allow_deletions": {"enabled": False},
    "required_conversation_resolution": {"enabled": False},
}
RULESET_RULES = [
    {"type": "deletion", "ruleset_source_type": "Repository", "ruleset_source": SLUG, "ruleset_id": 42},
    {"type": "non_fast_forward", "ruleset_source_type": "Repository", "ruleset_source": SLUG, "ruleset_id": 42},
    {"type": "pull_request", "ruleset_source_type": "Repository", "ruleset_source": SLUG, "ruleset_id": 42,
     "parameters": {"required_approving_review_count": 0, "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False, "require_last_push_approval": False,
                    "required_review_thread_resolution": False}},
    {"type": "required_status_checks", "ruleset_source_type": "Repository", "ruleset_source": SLUG,
     "ruleset_id": 42, "parameters": {"strict_required_status_checks_policy": True,
                                      "required_status_checks": [{"context": "check", "integration_id": 15368}]}},
]
NOT_PROTECTED = (404, {"message": "Branch not protected",
                       "documentation_url": "https://docs.github.com/rest/branches/branch-protection", "status": "404"})


def ruleset(bypass: list[dict[str, Any]] | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": 42, "name": "main", "target": "branch", "source_type": "Repository",
                            "source": SLUG, "enforcement": "active", **extra}
    if bypass is not None:
        body["bypass_actors"] = bypass
    return body


# -- the fake API ------------------------------------------------------------------------------------


class FakeGitHub:
    """Routes: path (without query) -> list of answers, served in order; the last one repeats."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.routes: dict[str, list[tuple[int, Any, dict[str, str]]]] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path with query, Authorization header)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                fake.requests.append((self.path, self.headers.get("Authorization")))
                path = self.path.split("?", 1)[0]
                answers = fake.routes.get(path[len(fake.prefix):]) if path.startswith(fake.prefix + "/") else None
                status, body, headers = (answers.pop(0) if len(answers) > 1 else answers[0]) if answers else (
                    404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {})
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-ratelimit-limit", "5000")
                self.send_header("x-ratelimit-resource", "core")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def on(self, path: str, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> FakeGitHub:
        self.routes[path] = [(a[0], a[1], a[2] if len(a) > 2 else {}) for a in answers]  # type: ignore[misc]
        return self

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


    def start(self) -> FakeGitHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> FakeGitHub:
        self.routes.clear()
        self.requests.clear()
        return self


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FakeGitHub]]:
    """One server at the root (github.com's shape) and one under /api/v3 (GitHub Enterprise), per module."""
    started = {"root": FakeGitHub().start(), "ghe": FakeGitHub(prefix="/api/v3").start()}
    yield started
    for fake in started.values():
        fake.stop()


@pytest.fixture
def api(servers: dict[str, FakeGitHub], monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fake = servers["root"].reset()
    monkeypatch.setenv("GITHUB_API_URL", fake.base)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDLAB_LINT_HTTP_TIMEOUT", "5")
    return fake


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait the client asked for, instead of sleeping."""
    asked: list[float] = []
    monkeypatch.setattr(github, "sleep", asked.append)
    return asked


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".github/workflows/check.yml": WORKFLOW, "README.md": "# gitops\n"})
    commit_all(root)
    return root


def lint(repo: Path, *extra: str, fmt: str = "json") -> tuple[int, list[dict[str, Any]], str]:
    """Run CL301 through the CLI; assert the token was never printed; return (exit, findings, all output)."""
    outcome = run_cli(["--all", "--github", "--select", "CL301", "--format", fmt, *extra], cwd=repo)
    assert outcome.code in (0, 1), outcome.err  # a finding or none; never a crash
    assert TOKEN not in outcome.out and TOKEN not in outcome.err
    assert TOKEN[4:20] not in outcome.out + outcome.err  # nor a recognisable part of it
    findings = outcome.json["findings"] if fmt == "json" else []
    return outcome.code, findings, outcome.out + outcome.err


def only(findings: list[dict[str, Any]]) -> str:
    assert len(findings) == 1, findings
    finding = findings[0]
    assert (finding["rule"], finding["path"], finding["line"]) == ("CL301", ".github/workflows/check.yml", JOB_LINE)
    return finding["message"]


def protected(api: FakeGitHub, classic: dict[str, Any] | None = None, rules: list[Any] | None = None) -> None:
    api.on(PROTECTION, (200, classic if classic is not None else FULL_CLASSIC))
    api.on(RULES, (200, rules or []))


# -- the three outcomes --------------------------------------------------------------------------------


def test_fully_protected_by_classic_protection_holds(api: FakeGitHub, repo: Path, waits: list[float]) -> None:
    protected(api)
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert (code, findings) == (0, [])
    assert api.requests and all(auth == f"Bearer {TOKEN}" for _, auth in api.requests)
    assert api.paths()[0] == PROTECTION and api.paths()[1].startswith(RULES + "?per_page=100")
    assert waits == []


def _without(*keys: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(FULL_CLASSIC)
    for key in keys:
        data.pop(key)
    data.update(changes)
    return data


@pytest.mark.parametrize(("classic", "phrase"), [
    (_without("required_pull_request_reviews"), "no source requires a pull request before merging"),
    (_without("required_status_checks"), "no source requires the status check of the job that runs `mise run check`"),
    (_without(allow_force_pushes={"enabled": True}), "no source requires blocked force pushes"),
    (_without(allow_deletions={"enabled": True}), "no source requires blocked deletion"),
    (_without(enforce_admins={"enabled": False}), "administrators are not included: a pull request before merging, "
     "the status check of the job that runs `mise run check`, blocked force pushes, blocked deletion can be bypassed "
     "(classic protection (Include administrators is off))"),
    (_without("enforce_admins"), "administrators are not included"),
], ids=["no-pull-request", "no-status-checks", "force-push-allowed", "deletion-allowed", "admins-excluded",
        "enforce-admins-absent"])
def test_each_requirement_missing_in_turn_fails(api: FakeGitHub, repo: Path, classic: dict[str, Any],
                                                phrase: str) -> None:
    protected(api, classic)
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1
    assert "does not meet the design" in message and phrase in message
    assert "read: classic protection, rulesets (none)" in message
    assert message.count("no source requires") == (0 if "administrators" in phrase else 1)


def test_min_approvals_parameter(api: FakeGitHub, repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": yaml.safe_dump({"rules": {"CL301": {"params": {"min_approvals": 1}}}})})
    commit_all(repo)
    protected(api)  # 0 approvals required: enough by default, not for a team that asks for 1
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and "no source requires a pull request before merging" in message
    assert "classic protection requires 0 approval(s), fewer than min_approvals 1" in message


def test_required_check_named_differently_from_the_job(api: FakeGitHub, repo: Path) -> None:
    protected(api, _without(required_status_checks={"strict": True, "contexts": ["ci / lint", "Check"],
                                                     "checks": [{"context": "ci / lint", "app_id": None},
                                                                {"context": "Check", "app_id": None}]}))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1
    assert "no source requires the status check of the job that runs `mise run check`" in message
    assert "classic protection requires checks `Check`, `ci / lint`" in message
    assert "the job's check is `check`" in message


def test_job_name_and_matrix_give_the_check_name(api: FakeGitHub, repo: Path) -> None:
    workflow = WORKFLOW.replace("    runs-on:", "    name: Lint\n    strategy:\n      matrix:\n"
                                                "        os: [ubuntu-latest]\n    runs-on:")
    write_files(repo, {".github/workflows/check.yml": workflow})
    commit_all(repo)
    protected(api, _without(required_status_checks={"contexts": ["Lint (ubuntu-latest)"], "checks": []}))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    protected(api)  # `check`, the job id, is not the check name GitHub shows when the job has a name
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and "the job's check is `Lint (ubuntu-latest)`" in only(findings)


def test_reusable_workflow_check_name_is_caller_slash_callee(api: FakeGitHub, repo: Path) -> None:
    write_files(repo, {
        ".github/workflows/check.yml": "on: pull_request\njobs:\n  ci:\n    uses: ./.github/workflows/reusable.yml\n",
        ".github/workflows/reusable.yml": ("on: workflow_call\njobs:\n  check:\n    runs-on: ubuntu-latest\n"
                                           "    steps:\n      - run: mise run check\n"),
    })
    commit_all(repo)
    protected(api, _without(required_status_checks={"contexts": ["ci / check"], "checks": []}))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    protected(api)  # `check` alone is the callee's job id, not the check GitHub shows
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and "the job's check is `ci / check`" in findings[0]["message"]
    assert (findings[0]["path"], findings[0]["line"]) == (".github/workflows/check.yml", 3)


def test_no_workflow_runs_mise_check(api: FakeGitHub, repo: Path) -> None:
    write_files(repo, {".github/workflows/check.yml": WORKFLOW.replace("mise run check", "make test")})
    commit_all(repo)
    protected(api)
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and len(findings) == 1
    assert findings[0]["path"] == ".github/workflows/check.yml" and findings[0]["line"] == 1
    assert "no job of a workflow triggered by pull_request runs `mise run check`" in findings[0]["message"]


def test_protected_by_a_ruleset_only_holds(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, NOT_PROTECTED).on(RULES, (200, RULESET_RULES)).on("/repos/acme/gitops/rulesets/42",
                                                                         (200, ruleset([])))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert (code, findings) == (0, [])
    assert "/repos/acme/gitops/rulesets/42?includes_parents=true" in api.paths()


def test_requirements_split_between_classic_and_a_ruleset_hold(api: FakeGitHub, repo: Path) -> None:
    classic = _without("required_pull_request_reviews", "required_status_checks")
    api.on(PROTECTION, (200, classic)).on(RULES, (200, RULESET_RULES[2:])).on(
        "/repos/acme/gitops/rulesets/42", (200, ruleset([])))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])


def test_unprotected_branch_fails_naming_both_sources(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, NOT_PROTECTED).on(RULES, (200, []))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and message.count("no source requires") == 4
    assert "read: classic protection (none), rulesets (none)" in message


def test_ruleset_with_an_admin_bypass_actor_fails(api: FakeGitHub, repo: Path) -> None:
    actor = {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
    api.on(PROTECTION, NOT_PROTECTED).on(RULES, (200, RULESET_RULES)).on("/repos/acme/gitops/rulesets/42",
                                                                         (200, ruleset([actor])))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1
    assert "administrators are not included" in message and "ruleset 42 (has bypass actors)" in message


def test_ruleset_bypass_actors_hidden_cannot_be_verified(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, NOT_PROTECTED).on(RULES, (200, RULESET_RULES)).on(
        "/repos/acme/gitops/rulesets/42", (200, ruleset(None, current_user_can_bypass="never")))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and "cannot be verified" in message
    assert "ruleset 42's bypass actors are hidden from this token" in message


def test_hidden_bypass_list_but_this_user_may_bypass_fails(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, NOT_PROTECTED).on(RULES, (200, RULESET_RULES)).on(
        "/repos/acme/gitops/rulesets/42", (200, ruleset(None, current_user_can_bypass="always")))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and "administrators are not included" in only(findings)


def test_hidden_bypass_does_not_matter_when_classic_binds_admins(api: FakeGitHub, repo: Path) -> None:
    protected(api, rules=RULESET_RULES)
    api.on("/repos/acme/gitops/rulesets/42", (200, ruleset(None)))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])


# -- answers that do not let us know ---------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "phrase"), [
    (401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"},
     "401 Bad credentials (the token is invalid or expired)"),
    (403, {"message": "Upgrade to GitHub Pro or make this repository public to enable this feature.",
           "documentation_url": "https://docs.github.com/rest/branches/branch-protection", "status": "403"},
     "(this plan has no branch protection for private repositories)"),
    (404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"},
     "404 Not Found (no such repository, or this token may not read it"),
    (403, {"message": "Resource not accessible by integration", "status": "403"},
     "the Actions GITHUB_TOKEN can never read it"),
], ids=["401", "403-plan", "404-no-permission", "403-integration"])
def test_unreadable_answers_cannot_be_verified(api: FakeGitHub, repo: Path, status: int, body: dict[str, Any],
                                               phrase: str) -> None:
    api.on(PROTECTION, (status, body)).on(RULES, (status, body))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and "cannot be verified" in message and phrase in message
    assert "does not meet" not in message


def test_classic_unreadable_but_rulesets_enforce_everything_holds(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, (403, {"message": "Resource not accessible by integration"})).on(
        RULES, (200, RULESET_RULES)).on("/repos/acme/gitops/rulesets/42", (200, ruleset([])))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])


def test_classic_unreadable_and_a_ruleset_missing_a_requirement_cannot_be_verified(api: FakeGitHub,
                                                                                    repo: Path) -> None:
    api.on(PROTECTION, (404, {"message": "Not Found"})).on(RULES, (200, RULESET_RULES[:2])).on(
        "/repos/acme/gitops/rulesets/42", (200, ruleset([])))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert "cannot be verified" in message
    assert "unsettled: a pull request before merging, the status check of the job" in message


def test_branch_not_found(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, (404, {"message": "Branch not found"})).on(RULES, (200, []))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert "the branch does not exist" in only(findings) and code == 1


def test_no_token_is_a_finding_and_fail_on_never_exits_zero(monkeypatch: pytest.MonkeyPatch, api: FakeGitHub,
                                                             repo: Path) -> None:
    monkeypatch.delenv("GH_TOKEN")
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and "cannot be verified: no token" in only(findings)
    assert api.requests == []  # nothing asked without a token
    assert lint(repo, "--github-repo", SLUG, "--fail-on", "never")[0] == 0


def test_github_token_is_used_when_gh_token_is_absent(monkeypatch: pytest.MonkeyPatch, api: FakeGitHub,
                                                      repo: Path) -> None:
    monkeypatch.delenv("GH_TOKEN")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    protected(api)
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    assert {auth for _, auth in api.requests} == {f"Bearer {TOKEN}"}


# -- rate limits, retries, timeouts ---------------------------------------------------------------------------


def test_429_then_success(api: FakeGitHub, repo: Path, waits: list[float]) -> None:
    limited = (429, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "7"})
    api.on(PROTECTION, limited, (200, FULL_CLASSIC)).on(RULES, (200, []))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    assert waits == [7.0]
    assert api.paths().count(PROTECTION) == 2


def test_primary_rate_limit_waits_until_reset(api: FakeGitHub, repo: Path, waits: list[float],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(github, "now", lambda: 1_800_000_000.0)
    write_files(repo, {".cloudlab-lint.yaml": "rules: {CL301: {params: {deadline: 90}}}\n"})  # waits count
    commit_all(repo)
    limited = (403, {"message": "API rate limit exceeded for user ID 1."},
               {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800000030"})
    api.on(PROTECTION, limited, (200, FULL_CLASSIC)).on(RULES, (200, []))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    assert waits == [30.0]


def test_rate_limit_reset_too_far_gives_up_without_waiting(api: FakeGitHub, repo: Path, waits: list[float],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(github, "now", lambda: 1_800_000_000.0)
    limited = (429, {"message": "API rate limit exceeded"},
               {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800003000"})
    api.on(PROTECTION, limited)
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and "cannot be verified" in message and "asked to wait 3000 s" in message
    assert waits == [] and api.paths() == [PROTECTION]


def test_server_errors_are_retried_a_bounded_number_of_times(api: FakeGitHub, repo: Path, waits: list[float],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDLAB_LINT_HTTP_RETRIES", "2")
    api.on(PROTECTION, (502, {"message": "Server Error"}))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert "502 Server Error, after 3 attempt(s)" in only(findings)
    assert api.paths().count(PROTECTION) == 3 and waits == [1.0, 2.0]


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    listener.close()
    for conn in accepted:
        conn.close()


def test_a_server_that_never_answers_times_out_boundedly(monkeypatch: pytest.MonkeyPatch, repo: Path,
                                                         waits: list[float],
                                                         silent_server: tuple[str, list[socket.socket]]) -> None:
    base, accepted = silent_server
    monkeypatch.setenv("GITHUB_API_URL", base)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDLAB_LINT_HTTP_TIMEOUT", "0.2")
    monkeypatch.setenv("CLOUDLAB_LINT_HTTP_RETRIES", "1")
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and "cannot be verified" in message and "no answer within 0.2 s, after 2 attempt(s)" in message
    assert len(accepted) == 2 and waits == [1.0]


# -- where the API is, and which repository ----------------------------------------------------------------------


def test_github_enterprise_base_url_with_a_path_prefix(monkeypatch: pytest.MonkeyPatch, repo: Path,
                                                       servers: dict[str, FakeGitHub]) -> None:
    fake = servers["ghe"].reset()
    monkeypatch.setenv("GITHUB_API_URL", fake.base + "/")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    fake.on(PROTECTION, (200, FULL_CLASSIC)).on(RULES, (200, []))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    assert fake.requests and all(p.startswith("/api/v3/repos/acme/gitops/") for p in fake.paths())
    fake.on(PROTECTION, (200, _without(allow_deletions={"enabled": True})))
    assert "no source requires blocked deletion" in only(lint(repo, "--github-repo", SLUG)[1])


WITH_CREDENTIALS = f"https://x-access-token:{TOKEN}@github.com/acme/gitops.git"  # pragma: allowlist secret


@pytest.mark.parametrize("remote", ["git@github.com:acme/gitops.git", "https://github.com/acme/gitops",
                                    "ssh://git@github.com/acme/gitops.git", WITH_CREDENTIALS])
def test_repository_from_the_origin_remote(api: FakeGitHub, repo: Path, remote: str) -> None:
    git(repo, "remote", "add", "origin", remote)
    protected(api)
    assert lint(repo)[:2] == (0, [])
    assert api.paths()[0] == PROTECTION


def test_repository_from_github_repository_env(monkeypatch: pytest.MonkeyPatch, api: FakeGitHub,
                                               repo: Path) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "other/place")
    git(repo, "remote", "add", "origin", "git@github.com:acme/gitops.git")
    api.on("/repos/other/place/branches/main/protection", (200, FULL_CLASSIC)).on(
        "/repos/other/place/rules/branches/main", (200, []))
    assert lint(repo)[:2] == (0, [])  # $GITHUB_REPOSITORY wins over the origin remote
    assert api.paths()[0] == "/repos/other/place/branches/main/protection"
    protected(api)
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])  # and --github-repo over both
    assert api.paths()[-2] == PROTECTION


def test_no_repository_known(api: FakeGitHub, repo: Path) -> None:
    code, findings, _ = lint(repo)
    assert code == 1 and "no GitHub repository (OWNER/NAME) from the origin remote" in only(findings)
    assert api.requests == []


def test_branch_parameter(api: FakeGitHub, repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": yaml.safe_dump({"rules": {"CL301": {"params": {"branch": "trunk"}}}})})
    commit_all(repo)
    api.on("/repos/acme/gitops/branches/trunk/protection", (200, FULL_CLASSIC)).on(
        "/repos/acme/gitops/rules/branches/trunk", (200, []))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])


# -- the token stays ours -------------------------------------------------------------------------------------------


def test_token_echoed_by_the_server_is_never_printed(api: FakeGitHub, repo: Path) -> None:
    echo = {"message": f"Bad credentials: {TOKEN}\x1b[2J\nnext line"}
    api.on(PROTECTION, (401, echo)).on(RULES, (401, echo))
    for fmt in ("json", "text", "sarif", "github", "markdown"):
        code, _, output = lint(repo, "--github-repo", SLUG, fmt=fmt)
        assert code == 1 and "[redacted]" in output.replace("\\[", "[").replace("\\]", "]") and "\x1b" not in output
    assert "Bad credentials: [redacted][2J next line" in only(lint(repo, "--github-repo", SLUG)[1])


def test_redirects_are_not_followed(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, (301, {"message": "Moved Permanently", "url": "http://127.0.0.1:9/elsewhere"},
                        {"Location": "http://127.0.0.1:9/elsewhere"}))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert "answered 301 (a redirect, not followed" in only(findings)
    assert api.paths() == [PROTECTION]


def test_plain_http_to_a_remote_host_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch,
                                                                   repo: Path) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://api.example.invalid")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and "the token is only sent over https" in only(findings)


def test_client_repr_and_errors_hold_no_token() -> None:
    client = github.client(TOKEN, github.Settings(base_url="http://127.0.0.1:9", timeout=0.5, retries=0))
    assert TOKEN not in repr(client) and TOKEN not in str(client.settings)
    with pytest.raises(github.ApiUnavailable) as info:
        client.get("/repos/acme/gitops")  # port 9 (discard) is closed: connection refused
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_rules_are_read_across_pages(api: FakeGitHub, repo: Path) -> None:
    page2 = f"{api.base}/repositories/1/rules/branches/main?per_page=100&page=2"
    api.on(PROTECTION, NOT_PROTECTED)
    api.on(RULES, (200, RULESET_RULES[:2], {"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'}))
    api.on("/repositories/1/rules/branches/main", (200, RULESET_RULES[2:]))
    api.on("/repos/acme/gitops/rulesets/42", (200, ruleset([])))
    assert lint(repo, "--github-repo", SLUG)[:2] == (0, [])
    assert "/repositories/1/rules/branches/main?per_page=100&page=2" in api.paths()


@pytest.mark.parametrize(("url", "slug"), [
    ("git@github.com:acme/gitops.git", "acme/gitops"), ("https://github.com/acme/gitops.git", "acme/gitops"),
    ("ssh://git@ghe.example.com:2222/acme/gitops.git", "acme/gitops"),
    ("https://ghe.example.com/acme/gitops/", "acme/gitops"),
    ("https://user:secret@github.com/acme/gitops", "acme/gitops"),  # pragma: allowlist secret
    ("/srv/git/gitops.git", None),
    ("file:///srv/git/gitops", None), ("https://github.com/acme", None),
])
def test_parse_remote(url: str, slug: str | None) -> None:
    assert github.parse_remote(url) == slug


def test_odd_shapes_from_the_server_are_findings_not_crashes(api: FakeGitHub, repo: Path) -> None:
    odd = _without(required_pull_request_reviews={"required_approving_review_count": "2"},
                   required_status_checks={"contexts": "check", "checks": [None, {"context": 5}]},
                   enforce_admins=[True])
    rules = ["deletion", {"type": "pull_request", "ruleset_id": 42, "parameters": ["x"]},
             {"type": "required_status_checks", "ruleset_id": "42"}]
    api.on(PROTECTION, (200, odd)).on(RULES, (200, rules)).on("/repos/acme/gitops/rulesets/42", (200, ["x"]))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    message = only(findings)
    assert code == 1 and "ruleset 42 unreadable (200)" in message
    assert "no source requires the status check of the job that runs `mise run check`" in message


def test_a_body_that_is_not_json_cannot_be_verified(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, (200, "<html>maintenance</html>")).on(RULES, (200, []))
    code, findings, _ = lint(repo, "--github-repo", SLUG)
    assert code == 1 and "cannot be verified: classic protection: 200" in only(findings)


def test_sarif_points_at_the_workflow_job(api: FakeGitHub, repo: Path) -> None:
    api.on(PROTECTION, NOT_PROTECTED).on(RULES, (200, []))
    outcome = run_cli(["--all", "--github", "--github-repo", SLUG, "--select", "CL301", "--format", "sarif"], cwd=repo)
    assert outcome.code == 1 and TOKEN not in outcome.out + outcome.err
    run = json.loads(outcome.out)["runs"][0]
    (result,) = run["results"]
    where = result["locations"][0]["physicalLocation"]
    assert (result["ruleId"], where["artifactLocation"]["uri"], where["region"]["startLine"]) == (
        "CL301", ".github/workflows/check.yml", JOB_LINE)
    (rule,) = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "CL301"]
    assert isinstance(rule["properties"]["security-severity"], str)
