"""The few GitHub REST calls CL301 needs: a small stdlib client, imported only when CL301 runs.

Rules it keeps, whatever the server says:
- the token goes only into the Authorization header of requests to the configured API base URL (never into a
  URL, a message, an exception, a repr); any text that comes back from the server is redacted before use;
- redirects are not followed (urllib would carry the Authorization header to wherever it points);
- plain http only for a loopback host (tests, local proxies), https everywhere else;
- every call has a timeout, and the whole conversation a deadline (a server trickling a byte at a time cannot
  hold the run); retries are bounded and only for 5xx, 429, rate limits and network failures;
- an answer that cannot be read (a body nested too deeply, a header that is not what it should be) is "cannot
  be verified", never a crash.

Timeouts, retries and waits are injectable so no test sleeps: environment variables read per client, and the
module-level `sleep` that tests replace.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ..record import field, record

if TYPE_CHECKING:
    from .github_deadline import Watch as _Watch

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
MAX_BODY = 4 * 1024 * 1024
MAX_PAGES = 10
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

# Injectable for tests: how the client waits between attempts and what time it is.
sleep: Callable[[float], None] = time.sleep
now: Callable[[], float] = time.time
clock: Callable[[], float] = time.monotonic  # for the deadline

SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class ApiUnavailable(Exception):
    """The API could not be asked (network, timeout, 5xx, rate limit, refused redirect); text is redacted."""


@record
class Response:
    status: int
    data: Any
    message: str  # the `message` field of an error body, redacted; "" when none
    next_url: str | None = None


@record
class Settings:
    """What a client needs besides the token; read from the environment by `settings_from_env`."""

    base_url: str = DEFAULT_API
    timeout: float = 10.0
    retries: int = 3  # attempts after the first
    max_wait: float = 60.0  # a wait longer than this gives up instead (a primary rate limit resets hourly)
    backoff: float = 1.0  # first wait for 5xx and network failures; doubles each time
    deadline: float = 30.0  # the whole conversation, waits included (CL301's parameter `deadline`)


def _number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value >= 0 else default


def settings_from_env() -> Settings:
    base = os.environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API
    return Settings(base_url=base.rstrip("/"),
                    timeout=_number("CLOUDLAB_LINT_HTTP_TIMEOUT", 10.0) or 10.0,
                    retries=int(_number("CLOUDLAB_LINT_HTTP_RETRIES", 3)),
                    max_wait=_number("CLOUDLAB_LINT_HTTP_MAX_WAIT", 60.0),
                    backoff=_number("CLOUDLAB_LINT_HTTP_BACKOFF", 1.0))


def token_problem(token: str) -> str | None:
    """Why `token` cannot be a token (it is never sent then): tokens are printable ASCII without spaces, and a
    line break in one would end up in a header, or in an error message that quotes the header."""
    if token.isascii() and token.isprintable() and " " not in token:
        return None
    return "holds a line break, a space, a control or a non-ASCII character, which no GitHub token has"


def token_from_env() -> str | None:
    """`GH_TOKEN`, else `GITHUB_TOKEN` (the order the gh CLI uses)."""
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def check_base_url(base: str) -> str | None:
    """Why the token must not be sent to `base`, or None when it may."""
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "GITHUB_API_URL is not an http(s) URL"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "GITHUB_API_URL must be a plain base URL (no credentials, query or fragment)"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        return "GITHUB_API_URL uses plain http for a non-loopback host; the token is only sent over https"
    return None


def host_of(base: str) -> str:
    """The API's host and path prefix, for messages (never credentials: check_base_url refuses them)."""
    parts = urlsplit(base)
    return f"{parts.hostname}{parts.path}".rstrip("/") if parts.hostname else "the GitHub API"


# -- the repository -------------------------------------------------------------------------

_REMOTE = re.compile(r"^(?:[a-z+]+://(?:[^@/]*@)?[^/:]+(?::\d+)?/|[^@/:]+@[^:/]+:|[^@/:]+:(?!//))"
                     r"(?P<path>.+?)(?:\.git)?/?$")


def parse_remote(url: str) -> str | None:
    """`owner/name` from an https, ssh or scp-style remote URL (GitHub Enterprise paths too); None if not one."""
    match = _REMOTE.match(url.strip())
    if not match:
        return None
    parts = [p for p in match.group("path").split("/") if p]
    if len(parts) < 2:
        return None
    slug = f"{parts[-2]}/{parts[-1]}"
    return slug if SLUG.match(slug) else None


def origin_slug(root: Path) -> str | None:
    from ..gitcmd import GitError, git

    try:
        raw = git(root, "config", "--get", "remote.origin.url")
    except GitError:
        return None
    # The URL may carry credentials (user and token before the host): only the slug ever leaves this function.
    return parse_remote(raw.decode("utf-8", "replace").strip())


def resolve_repository(option: str | None, root: Path) -> tuple[str | None, str]:
    """(owner/name or None, where it came from): --github-repo, else $GITHUB_REPOSITORY, else the origin remote."""
    if option:
        return (option if SLUG.match(option) else None), "--github-repo"
    env = os.environ.get("GITHUB_REPOSITORY", "").strip()
    if env:
        return (env if SLUG.match(env) else None), "GITHUB_REPOSITORY"
    return origin_slug(root), "the origin remote"


def repo_path(slug: str, *rest: str) -> str:
    owner, name = slug.split("/", 1)
    return "/repos/" + "/".join(quote(part, safe="") for part in (owner, name, *rest))


# -- the client -----------------------------------------------------------------------------


@record
class Client:
    settings: Settings
    _token: str = field(repr=False)
    _started: float | None = field(default=None, repr=False, compare=False)  # the conversation's first request

    def __repr__(self) -> str:  # never the token
        return f"Client({self.settings.base_url!r})"

    def scrub(self, text: str) -> str:
        """The text without the token (a last line of defence for anything we say): in any case, and split by
        line breaks or spaces (a server may echo it upper-cased or folded)."""
        if not self._token:
            return text
        return _token_pattern(self._token).sub("[redacted]", text)

    def redact(self, text: str) -> str:
        """Server-supplied text, scrubbed and cut short."""
        return self.scrub(text)[:300]

    # -- one request -------------------------------------------------------------------

    def _opener(self, watch: _Watch) -> Any:
        import urllib.request

        from .github_deadline import handlers

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None  # urllib then raises HTTPError with the 3xx status

        chain: list[Any] = [NoRedirect(), *handlers(watch)]
        if urlsplit(self.settings.base_url).hostname in LOOPBACK:
            chain.append(urllib.request.ProxyHandler({}))  # never send loopback traffic to a proxy
        return urllib.request.build_opener(*chain)

    def _remaining(self) -> float:
        if self._started is None:
            object.__setattr__(self, "_started", clock())
        return self.settings.deadline - (clock() - (self._started or 0.0))

    def _late(self) -> ApiUnavailable:
        return ApiUnavailable(f"{host_of(self.settings.base_url)}: no complete answer within "
                              f"{self.settings.deadline:g} s (the deadline for the whole conversation, "
                              "CL301's parameter `deadline`)")

    def _once(self, url: str) -> tuple[int, Mapping[str, str], bytes]:
        import http.client
        import urllib.error
        import urllib.request

        from .github_deadline import Watch

        remaining = self._remaining()
        if remaining <= 0:
            raise self._late()
        request = urllib.request.Request(url, method="GET", headers={
            "Accept": ACCEPT, "X-GitHub-Api-Version": API_VERSION, "User-Agent": "cloudlab-lint",
            "Authorization": f"Bearer {self._token}"})
        watch = Watch(remaining)  # shuts the connection down when the deadline passes, mid-read or not
        try:
            with self._opener(watch).open(request, timeout=min(self.settings.timeout, remaining)) as reply:
                answer = reply.status, dict(reply.headers.items()), reply.read(MAX_BODY)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read(MAX_BODY)
            except (OSError, http.client.HTTPException):
                body = b""
            answer = exc.code, dict(exc.headers.items()) if exc.headers else {}, body
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            if watch.fired:
                raise self._late() from None
            raise
        finally:
            watch.cancel()
        if watch.fired:
            raise self._late()  # what came before the deadline may be cut anywhere
        return answer

    def _network_reason(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError) or "timed out" in str(reason):
            return f"no answer within {min(self.settings.timeout, self.settings.deadline):g} s"
        return self.redact(f"network error ({type(reason).__name__}: {reason})")

    def get(self, path_or_url: str) -> Response:
        """GET with bounded retries; 2xx and 4xx come back as a Response, the rest raises ApiUnavailable."""
        import http.client
        import urllib.error

        base = self.settings.base_url
        url = path_or_url if path_or_url.startswith(base + "/") else base + path_or_url
        attempt = 0
        while True:
            try:
                status, headers, body = self._once(url)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                problem, wait = self._network_reason(exc), self.settings.backoff * 2 ** attempt
            else:
                try:
                    headers = {str(k).lower(): str(v) for k, v in headers.items()}
                    data, message = self._decode(body)
                    wait_or_none = self._retry_wait(status, headers, message, attempt)
                    next_url = self._next(headers.get("link", ""))
                except (ValueError, TypeError, LookupError, OverflowError, RecursionError) as exc:
                    raise ApiUnavailable(f"{host_of(base)} answered {status} in a form that cannot be read "
                                         f"({type(exc).__name__})") from None
                if wait_or_none is None:
                    if 300 <= status < 400:
                        raise ApiUnavailable(f"{host_of(base)} answered {status} (a redirect, not followed; "
                                             "renamed repository? give --github-repo with the current name)")
                    return Response(status, data, message, next_url)
                wait = wait_or_none
                problem = f"{status} {message}".strip() if message else f"HTTP {status}"
                if status in (403, 429) or headers.get("x-ratelimit-remaining") == "0":
                    problem = f"rate limited ({problem})"
            if attempt >= self.settings.retries:
                raise ApiUnavailable(f"{host_of(base)}: {problem}, after {attempt + 1} attempt(s)")
            if wait > self.settings.max_wait:
                raise ApiUnavailable(f"{host_of(base)}: {problem}; asked to wait {wait:.0f} s, more than "
                                     f"{self.settings.max_wait:g} s (CLOUDLAB_LINT_HTTP_MAX_WAIT)")
            if wait >= self._remaining():
                raise ApiUnavailable(f"{host_of(base)}: {problem}; a wait of {wait:.0f} s would pass the "
                                     f"{self.settings.deadline:g} s deadline (CL301's parameter `deadline`)")
            sleep(wait)
            attempt += 1

    def _decode(self, body: bytes) -> tuple[Any, str]:
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deeply
            data = None
        message = data.get("message") if isinstance(data, dict) else None
        if not isinstance(message, str):
            return data, ""
        # Server text goes into findings: one line, printable characters only (no terminal escapes).
        return data, self.redact("".join(c for c in " ".join(message.split()) if c.isprintable()))

    def _retry_wait(self, status: int, headers: Mapping[str, str], message: str, attempt: int) -> float | None:
        """How long to wait before retrying this answer, or None when it is final."""
        rate_limited = status == 429 or (status == 403 and (
            "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
            or "rate limit" in message.lower()))
        if not rate_limited and status < 500:
            return None
        retry_after = headers.get("retry-after", "").strip()
        if retry_after:
            return _seconds(retry_after, "Retry-After")
        reset = headers.get("x-ratelimit-reset", "").strip()
        if headers.get("x-ratelimit-remaining") == "0" and reset:
            return max(0.0, _seconds(reset, "x-ratelimit-reset", epoch=True) - now())
        if rate_limited:  # a secondary limit without headers: at least a minute, then exponential
            return 60.0 * 2 ** attempt
        return self.settings.backoff * 2 ** attempt

    def _next(self, link: str) -> str | None:
        # `<url>; rel="next", <url>; rel="last"`, split by hand: a regex over a 64 KB header of `<` backtracks.
        for part in link.split(","):
            url, _, params = part.partition(";")
            url = url.strip()
            if url.startswith("<") and url.endswith(">") and 'rel="next"' in params.replace(" ", ""):
                url = url[1:-1]
                # Only follow a next page on the same base URL: the token goes nowhere else.
                return url if url.startswith(self.settings.base_url + "/") else None
        return None

    def get_list(self, path: str) -> Response:
        """A paginated list (per_page=100, at most MAX_PAGES pages); the first non-200 answer is returned."""
        sep = "&" if "?" in path else "?"
        response = self.get(f"{path}{sep}per_page=100")
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if response.status != 200 or not isinstance(response.data, list):
                return response
            items.extend(response.data)
            if response.next_url is None:
                return Response(200, items, "")
            response = self.get(response.next_url)
        raise ApiUnavailable(f"{host_of(self.settings.base_url)}: more than {MAX_PAGES} pages of rules")


def _seconds(value: str, header: str, *, epoch: bool = False) -> float:
    """A header's number of seconds (or, for Retry-After, an HTTP date); ValueError when it is neither."""
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return float(value)
    if not epoch:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now())
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    raise ValueError(f"{header} is not a number of seconds")


@functools.lru_cache(maxsize=4)
def _token_pattern(token: str) -> re.Pattern[str]:
    """The token in any case, with any whitespace between its characters (none of which is whitespace)."""
    return re.compile(r"\s*".join(re.escape(c) for c in token), re.IGNORECASE)


def client(token: str, settings: Settings | None = None) -> Client:
    return Client(settings or settings_from_env(), token)
