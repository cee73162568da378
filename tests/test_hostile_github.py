"""A hostile or broken GitHub API (issue #16): CL301 ends in "cannot be verified", in bounded time, never a crash
and never the token in any output. Real sockets on 127.0.0.1; the deadline is a rule parameter, set short here
so that no test waits long (the trickling server would otherwise hold a run forever)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cloudlab_lint.stack import github

from .helpers import commit_all, init_repo, run_cli, write_files
from .test_github import JOB_LINE, SLUG, TOKEN, WORKFLOW

Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".github/workflows/check.yml": WORKFLOW})
    commit_all(root)
    return root


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    asked: list[float] = []
    monkeypatch.setattr(github, "sleep", asked.append)  # no test sleeps
    return asked


class RawApi:
    """Answers every GET with `answer(path)`: raw bytes and headers, whatever they are."""

    def __init__(self, answer: Callable[[str], Answer]) -> None:
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                api.requests.append(self.path)
                status, headers, body = answer(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raw(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[str], Answer]], RawApi]]:
    started: list[RawApi] = []

    def start(answer: Callable[[str], Answer]) -> RawApi:
        api = RawApi(answer)
        started.append(api)
        monkeypatch.setenv("GITHUB_API_URL", api.base)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDLAB_LINT_HTTP_TIMEOUT", "5")
        monkeypatch.setenv("CLOUDLAB_LINT_HTTP_RETRIES", "1")
        return api

    yield start
    for api in started:
        api.stop()


def never_printed(text: str) -> None:
    """Not the token, not in another case, not split by a line break, not a recognisable part of it."""
    folded = "".join(text.split()).lower()
    for part in (TOKEN, TOKEN[4:20], TOKEN[-16:]):
        assert part.lower() not in folded


def cl301(repo: Path, *extra: str) -> str:
    outcome = run_cli(["--all", "--github", "--github-repo", SLUG, "--select", "CL301", "--format", "json", *extra],
                      cwd=repo)
    assert outcome.code == 1, outcome.err  # a finding, never a crash
    never_printed(outcome.out + outcome.err)
    (finding,) = outcome.json["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("CL301", ".github/workflows/check.yml", JOB_LINE)
    assert "cannot be verified" in finding["message"], finding["message"]
    return finding["message"]


def set_deadline(repo: Path, seconds: float) -> None:
    write_files(repo, {".cloudlab-lint.yaml": f"rules: {{CL301: {{params: {{deadline: {seconds}}}}}}}\n"})
    commit_all(repo)


# -- a server that trickles ------------------------------------------------------------------------------


@pytest.fixture
def trickle(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bytes], str]]:
    """A server that sends `head` at once, then one byte every 0.1 s (until the test ends, or a minute): never
    silent long enough for a read timeout."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    head: list[bytes] = [b""]

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(head[0])
                for _ in range(600):  # a safety net: should the deadline fail, the test ends in a minute
                    if stop.wait(0.1):
                        break
                    conn.sendall(b"x")
            except OSError:
                pass

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()

    def start(first: bytes) -> str:
        head[0] = first
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("GITHUB_API_URL", base)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDLAB_LINT_HTTP_TIMEOUT", "5")  # longer than the deadline: the deadline must act
        return base

    yield start
    stop.set()
    listener.close()


@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK\r\n",  # the status line, then headers byte by byte
                                  b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n["],  # the body byte by byte
                         ids=["headers", "body"])
def test_a_trickling_server_meets_the_deadline(trickle: Callable[[bytes], str], repo: Path,
                                               head: bytes) -> None:
    trickle(head)
    set_deadline(repo, 0.5)
    message = cl301(repo)
    assert "no complete answer within 0.5 s" in message and "deadline" in message


def test_deadline_is_a_parameter_with_a_default(repo: Path) -> None:
    outcome = run_cli(["explain", "CL301"], cwd=repo)
    assert "deadline: 30.0" in outcome.out


# -- answers that cannot be read ---------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    (200, {}, b"[" * 200_000 + b"]" * 200_000),  # nested deeper than any parser's stack
    (429, {"Retry-After": "\u00b2"}, b"{}"),  # a superscript two: isdigit() says yes, float() says no
    (429, {"Retry-After": "soon"}, b"{}"),
    (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "\u0663\u0660"}, b"{}"),  # Arabic-Indic digits
    (200, {"Link": "<" * 60_000}, b"[]"),  # a regex over it would backtrack for minutes
    (200, {}, b"\xff\xfe garbage"),
], ids=["deep-json", "retry-after-superscript", "retry-after-word", "reset-not-ascii", "link-of-brackets",
        "not-utf8"])
def test_answers_that_cannot_be_read_cannot_be_verified(raw: Callable[..., RawApi], repo: Path,
                                                        waits: list[float], answer: Answer) -> None:
    raw(lambda path: answer)
    cl301(repo)
    assert all(w <= 60 for w in waits)


# -- the token --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [TOKEN + "\nX-Injected: 1", TOKEN[:10] + "\r\n" + TOKEN[10:], TOKEN + "\x1b[2J",
                                   "t\u00f6ken-" + TOKEN, TOKEN[:10] + " " + TOKEN[10:]])
def test_a_token_with_control_characters_is_refused_before_use(raw: Callable[..., RawApi], repo: Path,
                                                               monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    api = raw(lambda path: (200, {}, b"{}"))
    monkeypatch.setenv("GH_TOKEN", token)
    message = cl301(repo, "--debug")
    assert "it was not used" in message and api.requests == []


@pytest.mark.parametrize("echo", [TOKEN.upper(), TOKEN[:12] + "\n" + TOKEN[12:],
                                  TOKEN[:5] + "\r\n  " + TOKEN[5:].lower(), TOKEN[:20] + "\t" + TOKEN[20:]])
def test_the_scrubber_finds_the_token_in_any_case_and_across_line_breaks(raw: Callable[..., RawApi],
                                                                         repo: Path, echo: str) -> None:
    import json

    raw(lambda path: (401, {}, json.dumps({"message": f"Bad credentials for {echo} ok"}).encode()))
    assert "[redacted]" in cl301(repo)


def test_the_client_scrubs_what_it_is_given() -> None:
    client = github.client(TOKEN, github.Settings(base_url="http://127.0.0.1:9"))
    for echo in (TOKEN.swapcase(), "\n".join(TOKEN[i:i + 7] for i in range(0, len(TOKEN), 7))):
        assert client.scrub(f"a {echo} b") == "a [redacted] b"
