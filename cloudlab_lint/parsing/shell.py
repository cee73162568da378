"""Shell scripts -> the simple commands they execute, with their lines.

A tokenizer of our own (not bashlex: GPLv3+; not plain `shlex`: it loses
newlines as separators, quoting of operators, line numbers, here-documents and
command substitutions, all of which decide what actually runs). It knows
enough POSIX/bash syntax to answer one question soundly: which argv lists does
this script execute? Quoted words stay single words, so `echo "terraform plan"`
is an `echo`; comments are dropped; `$(...)`, backticks and `<(...)` are
parsed as the scripts they are; `bash -c '...'` and `eval '...'` are parsed
again; `env`, `sudo`, `nohup`, `time`, ... are looked through. Variables are
not expanded (a `$TF plan` stays unknown rather than guessed).
"""

from __future__ import annotations

import re

from ..record import record

MAX_NESTING = 12  # bash -c inside $(...) inside bash -c ...: deeper is absurd, stop there

SEPARATORS = {";", "&", "&&", "||", "|", "|&", "(", ")", ";;", ";&", ";;&", "\n"}
REDIRECTS = {"<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "&>>", "<<<"}
HEREDOCS = {"<<", "<<-"}
OPERATORS = sorted(SEPARATORS | REDIRECTS | HEREDOCS, key=len, reverse=True)
OP_CHARS = set(";&|()<>")
# Reserved words that may precede a command in the same simple-command position.
PREFIX_WORDS = {"!", "{", "}", "then", "else", "do", "if", "elif", "while", "until", "fi", "done", "esac"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}


@record
class SimpleCommand:
    """One executed command: its argv (variables unexpanded) and the 1-based line it starts on."""

    words: tuple[str, ...]
    line: int
    stdin_script: str | None = None  # a here-document body, kept when a shell reads it as its script

    @property
    def name(self) -> str:
        return self.words[0].rsplit("/", 1)[-1] if self.words else ""


@record(mutable=True)
class _Token:
    value: str
    line: int
    op: bool = False
    heredoc: str | None = None  # for `<<` operators: the body, filled in after the line ends


class _Lexer:
    def __init__(self, text: str, line: int, depth: int, out: list[SimpleCommand]) -> None:
        self.text, self.i, self.line, self.depth = text, 0, line, depth
        self.tokens: list[_Token] = []
        self.extra = out  # commands found inside substitutions go straight here
        self.pending: list[tuple[_Token, str, bool]] = []  # here-docs waiting for the end of the line

    # -- words ---------------------------------------------------------------------------

    def run(self) -> list[_Token]:
        text = self.text
        word: list[str] | None = None
        word_line = self.line
        expect_delim: _Token | None = None

        def end_word() -> None:
            nonlocal word, expect_delim
            if word is not None:
                value = "".join(word)
                if expect_delim is not None:
                    strip = expect_delim.value == "<<-"
                    self.pending.append((expect_delim, value, strip))
                    expect_delim = None
                else:
                    self.tokens.append(_Token(value, word_line))
            word = None

        while self.i < len(text):
            c = text[self.i]
            nxt = text[self.i + 1] if self.i + 1 < len(text) else ""
            if c == "\\" and nxt == "\n":
                self.i += 2
                self.line += 1
                continue
            if word is None and c not in " \t\r\n#" and c not in OP_CHARS:
                word, word_line = [], self.line
            if c == "\\":
                word = word if word is not None else []
                word.append(nxt)
                self.i += 2
            elif c in " \t\r":
                end_word()
                self.i += 1
            elif c == "\n":
                end_word()
                self.tokens.append(_Token("\n", self.line, op=True))
                self.i += 1
                self.line += 1
                self._read_heredocs()
            elif c == "#" and word is None:
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            elif c in OP_CHARS:
                if c == "(" and word is not None and "".join(word).endswith("="):
                    word.append(self._balanced(")"))  # an array assignment `args=( -o x )`: data, not commands
                    continue
                if c in "<>" and nxt == "(" and word is None:
                    # Process substitution <(cmd): the inside runs.
                    self.i += 1
                    self._substitution(")")
                    self.tokens.append(_Token("<(...)", self.line))
                    continue
                end_word()
                op = next(o for o in OPERATORS if text.startswith(o, self.i))
                token = _Token(op, self.line, op=True)
                self.tokens.append(token)
                self.i += len(op)
                if op in HEREDOCS:
                    expect_delim = token
            elif c == "'":
                end = text.find("'", self.i + 1)
                end = len(text) if end < 0 else end
                chunk = text[self.i + 1:end]
                word.append(chunk)  # type: ignore[union-attr]
                self.line += chunk.count("\n")
                self.i = end + 1
            elif c == '"':
                self._double_quoted(word)  # type: ignore[arg-type]
            elif c == "$" and nxt == "(":
                if text.startswith("$((", self.i):
                    self.i += 1
                    word.append(self._balanced(")"))  # type: ignore[union-attr]  # arithmetic: no commands
                else:
                    self.i += 1
                    self._substitution(")")
                    word.append("$(...)")  # type: ignore[union-attr]
            elif c == "$" and nxt == "{":
                self.i += 1
                word.append("$" + self._balanced("}"))  # type: ignore[union-attr]
            elif c == "`":
                self._backtick()
                word.append("$(...)")  # type: ignore[union-attr]
            else:
                word.append(c)  # type: ignore[union-attr]
                self.i += 1
        end_word()
        return self.tokens

    def _double_quoted(self, word: list[str]) -> None:
        text = self.text
        self.i += 1
        while self.i < len(text):
            c = text[self.i]
            nxt = text[self.i + 1] if self.i + 1 < len(text) else ""
            if c == '"':
                self.i += 1
                return
            if c == "\\" and nxt in '"\\$`\n':
                if nxt == "\n":
                    self.line += 1
                else:
                    word.append(nxt)
                self.i += 2
            elif c == "$" and nxt == "(" and not text.startswith("$((", self.i):
                self.i += 1
                self._substitution(")")
                word.append("$(...)")
            elif c == "`":
                self._backtick()
                word.append("$(...)")
            else:
                if c == "\n":
                    self.line += 1
                word.append(c)
                self.i += 1

    def _balanced(self, close: str) -> str:
        """Text from the opener at self.i to its matching `close`, quotes respected; self.i moves past it."""
        text, start = self.text, self.i
        opener = text[self.i]
        depth, quote = 0, ""
        while self.i < len(text):
            c = text[self.i]
            if quote:
                if c == "\\" and quote == '"':
                    self.i += 1
                elif c == quote:
                    quote = ""
            elif c == "\\":
                self.i += 1
            elif c in "'\"":
                quote = c
            elif c == opener:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    self.i += 1
                    break
            if self.i < len(text) and text[self.i] == "\n":
                self.line += 1
            self.i += 1
        return text[start:self.i]

    def _substitution(self, close: str) -> None:
        start_line = self.line
        inner = self._balanced(close)[1:-1]
        _parse_into(inner, start_line, self.depth + 1, self.extra)

    def _backtick(self) -> None:
        end = self.text.find("`", self.i + 1)
        end = len(self.text) if end < 0 else end
        inner = self.text[self.i + 1:end]
        _parse_into(inner, self.line, self.depth + 1, self.extra)
        self.line += inner.count("\n")
        self.i = end + 1

    def _read_heredocs(self) -> None:
        """After a newline, the bodies of the here-documents opened on that line follow."""
        for token, delim, strip in self.pending:
            body: list[str] = []
            while self.i < len(self.text):
                end = self.text.find("\n", self.i)
                end = len(self.text) if end < 0 else end
                raw = self.text[self.i:end]
                self.i = end + 1
                self.line += 1
                check = raw.lstrip("\t") if strip else raw
                if check == delim:
                    break
                body.append(check)
            token.heredoc = "\n".join(body) + "\n"
        self.pending.clear()


def _parse_into(text: str, line: int, depth: int, out: list[SimpleCommand]) -> None:
    if depth > MAX_NESTING:
        return
    lexer = _Lexer(text, line, depth, out)
    tokens = lexer.run()
    segment: list[_Token] = []
    case_pattern = False  # inside `case ... in`, where the words before `)` are patterns, not commands
    dbracket = False
    for index, token in enumerate(tokens + [_Token("\n", lexer.line, op=True)]):
        if case_pattern:
            if token.op and token.value == ")":
                segment, case_pattern = [], False
            elif not token.op and token.value == "esac" and not segment:
                case_pattern = False
            elif not token.op:
                segment.append(token)
            continue
        if dbracket:
            # Inside `[[ ... ]]`, && || < > ( ) are operators of the test, not of the shell.
            segment.append(_Token(token.value, token.line) if token.op and token.value != "\n" else token)
            dbracket = not (not token.op and token.value == "]]")
            continue
        if not token.op and token.value == "[[" and all(t.value in PREFIX_WORDS for t in segment):
            dbracket = True
        if token.op and token.value in SEPARATORS:
            if token.value == "(" and _is_function_def(segment, tokens, index):
                segment = []
                continue
            _emit(segment, depth, out)
            segment = []
            case_pattern = token.value in (";;", ";&", ";;&")
            continue
        if not token.op and token.value == "in" and segment and segment[0].value == "case" and not segment[0].op:
            segment, case_pattern = [], True
            continue
        segment.append(token)


def _is_function_def(segment: list[_Token], tokens: list[_Token], index: int) -> bool:
    return (len(segment) == 1 and not segment[0].op and index + 1 < len(tokens)
            and tokens[index + 1].op and tokens[index + 1].value == ")")


def _emit(segment: list[_Token], depth: int, out: list[SimpleCommand]) -> None:
    kept: list[_Token] = []
    heredoc: str | None = None
    skip_next = False
    for pos, token in enumerate(segment):
        if token.op:
            if token.value in REDIRECTS:
                skip_next = True
                if kept and kept[-1].value.isdigit() and pos and segment[pos - 1] is kept[-1]:
                    kept.pop()  # an io-number like the 2 in 2>&1
            elif token.value in HEREDOCS:
                heredoc = token.heredoc
            continue
        if skip_next:
            skip_next = False
            continue
        kept.append(token)
    if kept and kept[0].value in ("for", "select"):
        return
    if kept and kept[0].value == "function":
        kept = kept[2:]
    while kept and kept[0].value in PREFIX_WORDS:
        kept = kept[1:]
    if not kept:
        return
    line = kept[0].line
    for cmd in unwrap([t.value for t in kept], line, depth):
        if cmd.name in SHELLS and len(cmd.words) == 1 and heredoc is not None:
            out.append(SimpleCommand(cmd.words, cmd.line, heredoc))
            _parse_into(heredoc, line + 1, depth + 1, out)
        else:
            out.append(cmd)


# -- wrappers ------------------------------------------------------------------------------

# Commands that run their arguments as a command, and how many leading words to skip.
# value: options that take a separate argument (everything else starting with `-` is a flag)
WRAPPERS: dict[str, set[str]] = {
    "env": {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"},
    "sudo": {"-u", "-g", "-h", "-p", "-U", "-C", "-D", "-r", "-t", "-T", "--user", "--group"},
    "doas": {"-u", "-C"},
    "nohup": set(),
    "time": {"-f", "-o"},
    "nice": {"-n"},
    "ionice": {"-c", "-n", "-p"},
    "stdbuf": {"-i", "-o", "-e"},
    "exec": {"-a"},
    "command": set(),
    "builtin": set(),
    "xargs": {"-I", "-L", "-n", "-P", "-d", "-E", "-s", "-a", "--max-args", "--max-procs", "--delimiter"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "caffeinate": set(),
}
# `tool run cmd ...` style launchers: (tool, subcommand)
LAUNCHERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"),
             ("direnv", "exec"), ("dotenv", "run"), ("op", "run"), ("sops", "exec-env"), ("sops", "exec-file")}


def unwrap(words: list[str], line: int, depth: int = 0) -> list[SimpleCommand]:
    """The command(s) `words` really runs: wrappers looked through, `bash -c` and `eval` parsed."""
    out: list[SimpleCommand] = []
    for _ in range(16):  # a wrapper of a wrapper of ...: bounded
        while words and ASSIGNMENT.match(words[0]):
            words = words[1:]
        if not words:
            return out
        name = words[0].rsplit("/", 1)[-1]
        if name in WRAPPERS:
            takes = WRAPPERS[name]
            rest, i = words[1:], 0
            if name == "timeout":
                while i < len(rest) and rest[i].startswith("-"):
                    i += 2 if rest[i] in takes else 1
                i += 1  # the duration
            else:
                while i < len(rest) and (rest[i].startswith("-") or (name == "env" and "=" in rest[i])):
                    if rest[i] == "--":
                        i += 1
                        break
                    if name == "env" and rest[i] in ("-S", "--split-string") and i + 1 < len(rest):
                        _parse_into(rest[i + 1], line, depth + 1, out)
                        return out
                    i += 2 if rest[i] in takes else 1
            words = rest[i:]
            continue
        if name == "eval" and len(words) > 1:
            # A substitution's output is unknown: `eval "$(mise env)"` runs nothing we can name.
            _parse_into(" ".join(words[1:]).replace("$(...)", ""), line, depth + 1, out)
            return out
        if name in SHELLS:
            script = _dash_c(words)
            if script is not None:
                out.append(SimpleCommand(tuple(words), line))
                _parse_into(script, line, depth + 1, out)
                return out
        if len(words) > 2 and (name, words[1]) in LAUNCHERS:
            out.append(SimpleCommand(tuple(words), line))
            rest = words[2:]
            while rest and rest[0].startswith("-"):
                rest = rest[1:]
                if rest and rest[:1] == ["--"]:
                    rest = rest[1:]
                    break
            words = rest
            continue
        if name == "mise" and len(words) > 2 and words[1] in ("exec", "x"):
            out.append(SimpleCommand(tuple(words), line))
            if "--" in words:
                words = words[words.index("--") + 1:]
                continue
            return out
        out.append(SimpleCommand(tuple(words), line))
        return out
    return out


def _dash_c(words: list[str]) -> str | None:
    """The script of `bash [-euo pipefail] -c 'script' ...`, or None."""
    i = 1
    while i < len(words):
        w = words[i]
        if w in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if w == "--" or not w.startswith(("-", "+")):
            return None
        if not w.startswith("--") and "c" in w[1:]:
            return words[i + 1] if i + 1 < len(words) else None
        # `-euo pipefail`: a cluster ending in o/O takes the next word as its option name
        i += 2 if not w.startswith("--") and w[-1] in "oO" else 1
    return None


def commands(script: str, line: int = 1) -> list[SimpleCommand]:
    """Every simple command `script` runs, in order; `line` is the line of the script's first line."""
    out: list[SimpleCommand] = []
    _parse_into(script, line, 0, out)
    return out
