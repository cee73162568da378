"""HCL2 (Terraform's native syntax) -> blocks, attributes and expressions, each with its lines.

Parsed by python-hcl2 (its Lark grammar, LALR): this module walks the raw parse tree, whose nodes carry
the lines the parser saw, and keeps what the Terraform rules ask about: for each attribute its name, its
lines and a summary of its value (a literal's text, the references and functions it reads, an object's
elements). python-hcl2 is imported on the first parse only, so a run that reads no `.tf` file never
pays for it. Heredoc templates reach us as one token; their `${ ... }` interpolations are parsed again,
one by one, with the same grammar.
"""

from __future__ import annotations

from typing import Any

from ..record import record
from . import ParseError

MAX_DEPTH = 200  # nesting of blocks and expressions; deeper is no Terraform anyone writes
# The grammar's heredoc terminal backtracks over whitespace: its time grows with the file's length times
# its longest run of blanks. Both are capped so a parse stays within a second or two on any input.
MAX_CHARS = 256 * 1024
MAX_BLANK_RUN = 1024


@record
class Expr:
    """A value's summary. `text` is the literal's value (a string or heredoc without interpolation, a
    number, `true`/`false`); `refs` every traversal it reads, as names (`("var", "token")`; indexes and
    splats left out); `calls` every function it calls; `items` an object's elements; `parts` a call's
    arguments or a tuple's elements."""

    kind: str  # string, heredoc, number, bool, null, object, tuple, call, ref, other
    line: int
    end_line: int
    text: str | None = None
    refs: tuple[tuple[str, ...], ...] = ()
    calls: tuple[str, ...] = ()
    items: tuple[Attribute, ...] = ()
    parts: tuple[Expr, ...] = ()
    name: str | None = None  # the function a call calls
    raw: str | None = None  # a string's or heredoc's template as written (`${path.module}/kubeconfig`)


@record
class Attribute:
    name: str
    line: int
    end_line: int
    value: Expr


@record
class Block:
    type: str
    labels: tuple[str, ...]
    line: int
    end_line: int
    attributes: tuple[Attribute, ...] = ()
    blocks: tuple[Block, ...] = ()

    def attr(self, name: str) -> Attribute | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def children(self, block_type: str) -> list[Block]:
        return [b for b in self.blocks if b.type == block_type]


def load_hcl(text: str) -> Block:
    """The file as one body (type ""): its top-level attributes and blocks. Raises ParseError."""
    from lark.exceptions import LarkError

    _check_size(text)
    try:
        tree = _parse(text)
    except LarkError as exc:
        raise _parse_error(exc) from None
    except (RecursionError, RuntimeError, ValueError):
        raise ParseError("invalid HCL: the file cannot be parsed") from None
    try:
        attributes, blocks = _body(tree.children[0], 0)
    except (IndexError, AttributeError, TypeError):  # a tree shape this walker does not know (a new grammar?)
        raise ParseError("invalid HCL: a construct cloudlab-lint cannot read; please report it") from None
    end = len(text.splitlines()) or 1
    return Block("", (), 1, end, attributes, blocks)


def too_large(text: str) -> tuple[str, int] | None:
    """Why the text is not parsed (over a cap that bounds the parse's time), and the line; None if it is."""
    if len(text) > MAX_CHARS:
        return f"not parsed: {len(text):,} characters, over the {MAX_CHARS:,}-character HCL parse cap", 1
    start = _longest_blank_run(text)
    if start is not None:
        return (f"not parsed: over {MAX_BLANK_RUN:,} blank characters in a row (the HCL parse is bounded in time); "
                "remove the blank lines", text.count("\n", 0, start) + 1)
    return None


def _check_size(text: str) -> None:
    reason = too_large(text)
    if reason is not None:
        raise ParseError(reason[0], reason[1])


def _longest_blank_run(text: str) -> int | None:
    """Where a run of more than MAX_BLANK_RUN whitespace characters starts, if any (one linear pass)."""
    import re

    for match in re.finditer(r"[ \t\r\n\f\v]+", text):  # maximal runs: each character is looked at once
        if match.end() - match.start() > MAX_BLANK_RUN:
            return match.start()
    return None


def _parse(text: str) -> Any:
    import hcl2

    return hcl2.parses_to_tree(text)


def _parse_error(exc: Exception) -> ParseError:
    """Where and what, never the text (it may be a secret)."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    line, column = getattr(exc, "line", 1), getattr(exc, "column", 1)
    line = line if isinstance(line, int) and line > 0 else 1
    column = column if isinstance(column, int) and column > 0 else 1
    what = "syntax error"
    if isinstance(exc, UnexpectedEOF) or isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        what = "unexpected end of file (an unclosed block, string or bracket?)"
    elif isinstance(exc, UnexpectedCharacters):
        what = "unexpected character"
    return ParseError(f"invalid HCL: {what}", line, column)


# -- the tree ------------------------------------------------------------------------------------


def _is_tree(node: Any) -> bool:
    return hasattr(node, "data")


def _lines(node: Any) -> tuple[int, int]:
    if _is_tree(node):
        meta = node.meta
        if getattr(meta, "empty", True):
            return 1, 1
        start, end = meta.line, meta.end_line
        last = node
        while _is_tree(last) and last.children:  # a heredoc token ends with its newline
            last = last.children[-1]
        if not _is_tree(last) and str(last).endswith("\n") and end > start:
            end -= 1
        return start, end
    start = getattr(node, "line", 1) or 1
    end = getattr(node, "end_line", start) or start
    if str(node).endswith("\n") and end > start:
        end -= 1
    return start, end


def _depth_check(depth: int, node: Any) -> None:
    if depth > MAX_DEPTH:
        raise ParseError(f"invalid HCL: nesting deeper than {MAX_DEPTH} levels", _lines(node)[0])


def _body(body: Any, depth: int) -> tuple[tuple[Attribute, ...], tuple[Block, ...]]:
    _depth_check(depth, body)
    attributes: list[Attribute] = []
    blocks: list[Block] = []
    for child in body.children:
        if not _is_tree(child):
            continue
        if child.data == "attribute":
            attributes.append(_attribute(child, depth + 1))
        elif child.data == "block":
            blocks.append(_block(child, depth + 1))
    return tuple(attributes), tuple(blocks)


def _name(node: Any) -> str:
    """An identifier, keyword or literal used as a name."""
    if _is_tree(node):
        return "".join(_name(c) for c in node.children)
    return str(node)


def _attribute(node: Any, depth: int) -> Attribute:
    name_node, _, value = node.children[0], node.children[1], node.children[2]
    line, end = _lines(node)
    return Attribute(_name(name_node), line, end, _expr(value, depth + 1))


def _block(node: Any, depth: int) -> Block:
    parts = [c for c in node.children if _is_tree(c) and c.data != "new_line_or_comment"]
    head, body = parts[:-1], parts[-1]
    labels = tuple(_string_text(p) or "" if p.data == "string" else _name(p) for p in head[1:])
    attributes, blocks = _body(body, depth + 1)
    line, end = _lines(node)
    return Block(_name(head[0]), labels, line, end, attributes, blocks)


# -- expressions ---------------------------------------------------------------------------------


class _Acc:
    """What an expression reads, gathered on the way down."""

    def __init__(self) -> None:
        self.refs: list[tuple[str, ...]] = []
        self.calls: list[str] = []


def _expr(node: Any, depth: int) -> Expr:
    acc = _Acc()
    expr = _summary(node, depth, acc)
    return Expr(expr.kind, expr.line, expr.end_line, expr.text, tuple(dict.fromkeys(acc.refs)),
                tuple(dict.fromkeys(acc.calls)), expr.items, expr.parts, expr.name, expr.raw)


def _summary(node: Any, depth: int, acc: _Acc) -> Expr:
    _depth_check(depth, node)
    line, end = _lines(node)
    if not _is_tree(node):
        return Expr("other", line, end)
    kind = node.data
    if kind == "expr_term":
        inner = [c for c in node.children if _is_tree(c) and c.data != "new_line_or_comment"]
        if len(inner) == 1:  # a term, or `( expression )`
            return _summary(inner[0], depth + 1, acc)
        return Expr("other", line, end)
    if kind == "string":
        text = _string_text(node)
        _walk(node, depth, acc)
        raw = "".join(_name(c) for c in node.children if _is_tree(c))  # the parts between the quotes
        return Expr("string", line, end, text, raw=raw)
    if kind in ("heredoc_template", "heredoc_template_trim"):
        return _heredoc(node, depth, acc)
    if kind in ("int_lit", "float_lit"):
        return Expr("number", line, end, _name(node))
    if kind == "literal_value":
        text = _name(node)
        return Expr("null" if text == "null" else "bool", line, end, None if text == "null" else text)
    if kind == "identifier":
        acc.refs.append((_name(node),))
        return Expr("ref", line, end)
    if kind in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
        path = _traversal(node, depth, acc)
        if path:
            acc.refs.append(path)
        return Expr("ref", line, end)
    if kind == "function_call":
        return _call(node, depth, acc)
    if kind == "object":
        items = tuple(_object_elem(c, depth + 1, acc) for c in node.children
                      if _is_tree(c) and c.data == "object_elem")
        return Expr("object", line, end, items=items)
    if kind == "tuple":
        parts = tuple(_summary(c, depth + 1, acc) for c in node.children
                      if _is_tree(c) and c.data != "new_line_or_comment")
        return Expr("tuple", line, end, parts=parts)
    _walk(node, depth, acc)
    return Expr("other", line, end)


def _walk(node: Any, depth: int, acc: _Acc) -> None:
    """Gather the references and calls below `node` (operators, conditionals, interpolations, for)."""
    for child in node.children:
        if not _is_tree(child):
            continue
        if child.data in ("expr_term", "function_call", "identifier", "get_attr_expr_term", "index_expr_term",
                          "attr_splat_expr_term", "full_splat_expr_term", "object", "tuple",
                          "heredoc_template", "heredoc_template_trim"):
            _summary(child, depth + 1, acc)
        else:
            _depth_check(depth + 1, child)
            _walk(child, depth + 1, acc)


def _traversal(node: Any, depth: int, acc: _Acc) -> tuple[str, ...]:
    """`a.b[0].c` -> ("a", "b", "c"); what the indexes read is gathered too."""
    names: list[str] = []
    while _is_tree(node) and depth <= MAX_DEPTH:
        depth += 1
        kind = node.data
        if kind == "expr_term":
            inner = [c for c in node.children if _is_tree(c)]
            if len(node.children) != 1 or not inner:
                _walk(node, depth, acc)
                return ()
            node = inner[0]
            continue
        if kind == "identifier":
            names.append(_name(node))
            break
        if kind in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
            base, step = node.children[0], node.children[1]
            names.extend(reversed(_steps(step, depth, acc)))
            node = base
            continue
        _summary(node, depth, acc)  # a call or literal with attributes taken: `f(x).y`
        return ()
    _depth_check(depth, node)
    return tuple(reversed(names))


def _steps(step: Any, depth: int, acc: _Acc) -> list[str]:
    """The names one step adds (`.name`; indexes add none but their expressions are read)."""
    if step.data == "get_attr":
        return [_name(c) for c in step.children if _is_tree(c)]
    if step.data in ("attr_splat", "full_splat"):
        out: list[str] = []
        for child in step.children:
            if _is_tree(child):
                out.extend(_steps(child, depth + 1, acc))
        return out
    _walk(step, depth + 1, acc)  # braces_index, short_index
    return []


def _call(node: Any, depth: int, acc: _Acc) -> Expr:
    line, end = _lines(node)
    names = [_name(c) for c in node.children if _is_tree(c) and c.data == "identifier"]
    name = "::".join(names)
    acc.calls.append(name)
    parts: tuple[Expr, ...] = ()
    for child in node.children:
        if _is_tree(child) and child.data == "arguments":
            parts = tuple(_summary(c, depth + 1, acc) for c in child.children
                          if _is_tree(c) and c.data != "new_line_or_comment")
    return Expr("call", line, end, parts=parts, name=name)


def _object_elem(node: Any, depth: int, acc: _Acc) -> Attribute:
    key_node, value_node = node.children[0], node.children[-1]
    key = _key_text(key_node, depth, acc)
    line, end = _lines(node)
    return Attribute(key, line, end, _summary(value_node, depth + 1, acc))


def _key_text(node: Any, depth: int, acc: _Acc) -> str:
    """An object key: a bare name or a literal string; anything else reads as its references."""
    inner = node
    while _is_tree(inner) and inner.data in ("object_elem_key", "expr_term") and len(inner.children) == 1:
        inner = inner.children[0]
    if _is_tree(inner) and inner.data == "identifier" or not _is_tree(inner):
        return _name(inner)
    if inner.data == "keyword":
        return _name(inner)
    if inner.data == "string":
        text = _string_text(inner)
        if text is not None:
            return text
    _summary(inner, depth + 1, acc)
    return ""


def _string_text(node: Any) -> str | None:
    """A quoted string's value, or None when it interpolates or has directives."""
    out: list[str] = []
    for part in node.children:
        if not _is_tree(part):
            continue  # the quotes
        for piece in part.children:
            if _is_tree(piece):
                return None  # an interpolation or a directive
            if piece.type == "STRING_CHARS":
                out.append(_unescape(str(piece)))
            elif piece.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                out.append(str(piece)[1:])
            else:
                return None
    return "".join(out)


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    from hcl2.utils import process_escape_sequences

    try:
        return process_escape_sequences(raw)
    except (ValueError, RuntimeError):
        return raw


# -- heredocs ------------------------------------------------------------------------------------


def _heredoc(node: Any, depth: int, acc: _Acc) -> Expr:
    line, end = _lines(node)
    raw = _name(node)
    head, _, rest = raw.partition("\n")
    marker = head.lstrip("<-").strip()
    body = rest.rstrip("\n").rstrip("\r")
    if body.endswith(marker):
        body = body[: len(body) - len(marker)]
    if "${" not in body and "%{" not in body:
        return Expr("heredoc", line, end, body, raw=body)
    for inner in _interpolations(body):
        try:
            sub = _parse(f"_ = {inner}\n")
        except Exception:  # noqa: BLE001 - an interpolation we cannot read adds no references
            continue
        attribute = next((c for c in sub.children[0].children if _is_tree(c) and c.data == "attribute"), None)
        if attribute is not None:
            _summary(attribute.children[2], depth + 1, acc)
    return Expr("heredoc", line, end, raw=body)


def _interpolations(body: str) -> list[str]:
    """The expressions inside `${ ... }` (`$${` is an escape), found by matching braces and quotes."""
    out: list[str] = []
    i, n = 0, len(body)
    while len(out) < 1000:
        start = body.find("${", i)
        if start < 0:
            break
        if start > 0 and body[start - 1] == "$":
            i = start + 2
            continue
        depth, j, quote = 1, start + 2, False
        while j < n and depth:
            ch = body[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == '"':
                    quote = False
            elif ch == '"':
                quote = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            j += 1
        if depth:
            break
        out.append(body[start + 2: j - 1].strip().strip("~").strip())
        i = j
    return out
