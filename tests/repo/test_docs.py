"""The documentation says what the code does.

- Every shell block of README.md and docs/*.md either runs here, offline, in a copy of the
  repository (helm template, make manifests, make docs ...), or names only `make` targets
  that `make help` lists, or starts with a `# needs ...` line (e.g. `# needs a cluster`).
- Every operator message the docs quote (`log` blocks, Message columns) is a string the
  operator's source can produce; every reason, condition and phase they name exists; every
  reason the operator can set is documented.
- The API reference is regenerated and compared; the settings and metrics tables match
  settings.py and metrics.py; relative links and their anchors resolve.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import prometheus_client
import pytest
from semantic_router_operator import handlers, platform, release, settings, status
from semantic_router_operator.crd import render_crd
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.models import Phase

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "semantic_router_operator"
DOCS = ROOT / "docs"
README = ROOT / "README.md"
ALL_DOCS = [README, *sorted(DOCS.glob("*.md"))]
# The pages whose quotes, tables and links this module checks (the user guide).
GUIDE = [DOCS / "configuration.md", DOCS / "troubleshooting.md", DOCS / "upgrading.md"]
CRD_REFERENCE = DOCS / "crd-reference.md"

SHELL_LANGS = {"bash", "sh", "shell", "zsh"}
NEEDS = re.compile(r"^#\s*needs\s+\S", re.IGNORECASE)

# Commands run here as they are: offline, cheap, writing only inside the copy.
RUNNABLE_MAKE = {"help", "manifests", "docs", "chart-docs"}
RUNNABLE_HELM = {"template", "lint", "show", "version"}
RUNNABLE_OPERATOR_CLI = {"render", "values", "crd", "--help", "-h"}
RUNNABLE_TOOLS = {"cat", "ls", "grep", "head", "tail", "diff", "wc", "echo", "true", "test"}
PYTHONS = {"python", "python3", ".venv/bin/python"}

COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".venv-*",
    "bin",
    ".cache",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
    "node_modules",
    "*.egg-info",
    "out",
    ".cluster",
)


# --- Markdown ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced code block."""

    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, indented ones (in list items) included."""
    out: list[Block] = []
    opened: tuple[int, str, str, int] | None = None
    body: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _FENCE.match(raw)
        if opened is None:
            if match:
                opened = (number, match["fence"], match["lang"].lower(), len(match["indent"]))
                body = []
            continue
        start, fence, lang, indent = opened
        closing = (
            match is not None
            and match["fence"][0] == fence[0]
            and len(match["fence"]) >= len(fence)
            and not match["lang"]
            and raw.strip() == match["fence"]
        )
        if closing:
            out.append(Block(path, start, lang, tuple(body)))
            opened = None
        else:
            body.append(raw[indent:] if raw[:indent].strip() == "" else raw.lstrip())
    assert opened is None, f"{path.relative_to(ROOT)}:{opened[0]}: code block never closed"
    return out


def prose_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of the lines outside fenced blocks."""
    inside: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _FENCE.match(raw)
        if inside is None and match:
            inside = match["fence"]
        elif inside is not None and match and raw.strip().startswith(inside[0] * len(inside)):
            inside = None
        elif inside is None:
            yield number, raw


@dataclass(frozen=True)
class Table:
    path: Path
    line: int
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, index: int) -> Iterator[tuple[tuple[str, ...], str]]:
        for row in self.rows:
            if index < len(row):
                yield row, row[index]


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return tuple(cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner))


def tables(path: Path) -> list[Table]:
    out: list[Table] = []
    current: list[tuple[int, str]] = []
    for number, text in [*prose_lines(path), (-1, "")]:
        if text.lstrip().startswith("|"):
            current.append((number, text))
            continue
        if len(current) >= 2 and set(current[1][1].replace("|", "").strip()) <= set("-: "):
            header = tuple(cell.lower() for cell in _cells(current[0][1]))
            rows = tuple(_cells(text) for _, text in current[2:])
            out.append(Table(path, current[0][0], header, rows))
        current = []
    return out


def code_spans(text: str) -> list[str]:
    return [span.strip() for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", text)]


# --- what the operator's source can say ----------------------------------------------------------

_PERCENT = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrfg]")


@dataclass(frozen=True)
class Template:
    """A string the source can produce: literal text around holes (formatted values)."""

    literals: tuple[str, ...]  # one more than there are holes
    origin: str


def _string_parts(node: ast.AST) -> list[str | None] | None:
    """Literal text and holes (None) of a string expression, or None if it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        pieces = _PERCENT.split(node.value)
        out: list[str | None] = []
        for index, piece in enumerate(pieces):
            if index:
                out.append(None)
            out.append(piece)
        return out
    if isinstance(node, ast.JoinedStr):
        return [
            value.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str)
            else None
            for value in node.values
        ]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_parts(node.left), _string_parts(node.right)
        if left is None and right is None:
            return None
        return [*(left or [None]), *(right or [None])]
    return None


def _literals(parts: Sequence[str | None]) -> tuple[str, ...]:
    literals = [""]
    after_hole = False
    for part in parts:
        if part is None:
            if not after_hole:
                literals.append("")
            after_hole = True
        elif part:
            literals[-1] += part
            after_hole = False
    return tuple(literals)


@functools.cache
def source_templates() -> tuple[Template, ...]:
    """Every string expression of the operator package with at least two words in it."""
    found: list[Template] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inner: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                inner.update(id(value) for value in node.values)
                for value in node.values:
                    if isinstance(value, ast.FormattedValue) and value.format_spec is not None:
                        inner.add(id(value.format_spec))
            if isinstance(node, ast.BinOp) and _string_parts(node) is not None:
                inner.update((id(node.left), id(node.right)))
        for node in ast.walk(tree):
            if id(node) in inner:
                continue
            parts = _string_parts(node)
            if parts is None:
                continue
            literals = _literals(parts)
            text = "".join(literals)
            # Sentences only: a lone word ("spec", "missing") would let any prose through.
            if re.search(r"[A-Za-z]", text) and re.search(r"\s", text):
                origin = f"{path.name}:{getattr(node, 'lineno', 0)}"
                found.append(Template(literals, origin))
    return tuple(found)


@functools.cache
def source_constants() -> frozenset[str]:
    """Every string constant of the operator package."""
    out: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.add(node.value)
    return frozenset(out)


_PLACEHOLDER = re.compile(r"<[^<>]+>")


def _free(chunk: str, outside: bool = False) -> bool:
    """Text a formatted value may hold: one token (`default/llama`, `<name>`, `'fast'`) or
    only placeholders, digits and punctuation (`<endpoint>: <why>`, `8000, 8001`). Outside
    of any formatted value, a token must not be a bare word (`spec.replicas:` is fine,
    `yesterday` is not)."""
    collapsed = _PLACEHOLDER.sub("\x01", chunk).strip()
    if not re.search(r"[A-Za-z]", collapsed):
        return True
    if re.search(r"\s", collapsed):
        return False
    return not outside or not collapsed.isalpha()


class QuoteChecker:
    """Decides whether a quoted line is something the source can produce.

    A line is valid when it is one source template whose holes hold either free text (see
    `_free`) or, recursively, other templates and free text; free text may also stand
    before and after templates, but every word that sits between two other words comes
    from a literal of the source.
    """

    def __init__(self, templates: Sequence[Template]) -> None:
        self.templates = templates

    def __call__(self, line: str) -> bool:
        return _LineMatch(line, self.templates).ok()

    def explain(self, line: str) -> str:
        candidates = [t for t in self.templates if t.literals[0] and t.literals[0] in line]
        near = ", ".join(sorted({t.origin for t in candidates})[:5]) or "none"
        return f"{line!r} is not produced by operator/ (templates starting inside it: {near})"


class _LineMatch:
    def __init__(self, line: str, templates: Sequence[Template]) -> None:
        self.line = line
        self.n = len(line)
        self.candidates = [t for t in templates if all(lit in line for lit in t.literals)]
        starts = {
            i for t in self.candidates if t.literals[0] for i in _occurrences(line, t.literals[0])
        }
        self.starts = sorted(starts)
        self.spans = functools.cache(self._spans)
        self.filler = functools.cache(self._filler)
        self.seq = functools.cache(self._seq)

    def ok(self) -> bool:
        for start in [0, *self.starts]:
            if start and not _free(self.line[:start], outside=True):
                continue
            if any(self.seq(end, self.n, False, True) for end in self.spans(start, self.n)):
                return True
        return False

    def _spans(self, i: int, j: int) -> frozenset[int]:
        """Ends of template instances that start at i and end by j."""
        ends: set[int] = set()
        for template in self.candidates:
            first = template.literals[0]
            if self.line.startswith(first, i) and i + len(first) <= j:
                ends.update(self._holes(template, 1, i + len(first), j))
        return frozenset(ends)

    def _holes(self, template: Template, k: int, pos: int, j: int) -> Iterator[int]:
        if k == len(template.literals):
            yield pos
            return
        literal = template.literals[k]
        if not literal:  # an open hole at the end
            for end in range(pos, j + 1):
                if self.filler(pos, end):
                    yield end
            return
        for index in _occurrences(self.line, literal, pos):
            if index + len(literal) > j:
                break
            if self.filler(pos, index):
                yield from self._holes(template, k + 1, index + len(literal), j)

    def _filler(self, i: int, j: int) -> bool:
        return i == j or _free(self.line[i:j]) or self.seq(i, j, False, False)

    def _seq(self, i: int, j: int, after_free: bool, outside: bool) -> bool:
        """line[i:j] is templates and free text, never two free pieces in a row; `outside`
        (not in a hole) free text cannot be a bare word."""
        if i == j:
            return True
        if any(self.seq(end, j, False, outside) for end in self.spans(i, j) if end > i):
            return True
        if after_free:
            return False
        ends = [j, *(s for s in self.starts if i < s < j)]
        return any(
            _free(self.line[i:end], outside) and self.seq(end, j, True, outside) for end in ends
        )


def _occurrences(text: str, sub: str, start: int = 0) -> Iterator[int]:
    index = text.find(sub, start)
    while index != -1:
        yield index
        index = text.find(sub, index + 1)


CHECK = QuoteChecker(source_templates())

CONDITION_TYPES = frozenset(status.CONDITION_TYPES)
PHASES = frozenset(phase.value for phase in Phase)


def _named_calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            yield name, node


@functools.cache
def operator_reasons() -> frozenset[str]:
    """Every condition or event reason the operator can set."""
    reasons = set(typing.get_args(release.Reason))
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call in _named_calls(tree):
            for keyword in call.keywords:
                if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                    reasons.add(str(keyword.value.value))
            if name in ("_condition", "Problem", "StorageProblem") and len(call.args) > 1:
                arg = call.args[1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    reasons.add(arg.value)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "phase":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
                        reason = ret.value.elts[1]
                        if isinstance(reason, ast.Constant) and isinstance(reason.value, str):
                            reasons.add(reason.value)
    # release.py maps NotFound to "no release" / success: it never reaches a status.
    return frozenset(reasons - {"NotFound"})


# --- shell blocks --------------------------------------------------------------------------------


def shell_blocks() -> list[Block]:
    return [b for path in ALL_DOCS for b in fenced_blocks(path) if b.lang in SHELL_LANGS]


def needs_something(block: Block) -> bool:
    first = next((line for line in block.lines if line.strip()), "")
    return bool(NEEDS.match(first.strip()))


def commands(block: Block) -> list[str]:
    """The commands of a block: continuation lines joined, comments and blanks dropped."""
    out: list[str] = []
    pending = ""
    for line in block.lines:
        text = pending + line
        if text.rstrip().endswith("\\"):
            pending = text.rstrip()[:-1] + " "
            continue
        pending = ""
        if text.strip() and not text.strip().startswith("#"):
            out.append(text.strip())
    return out


def simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command of a line (split on | && || ;)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out: list[list[str]] = [[]]
    for token in lexer:
        if token in ("|", "||", "&&", ";", "&"):
            out.append([])
        else:
            out[-1].append(token)
    words = [[w for w in simple if not re.match(r"^[A-Za-z_]\w*=", w)] for simple in out]
    return [simple for simple in words if simple]


def make_targets_named(words: Sequence[str]) -> list[str]:
    """Targets of a `make` command line; `make` alone is the default goal (help)."""
    skip_next = False
    targets = []
    for word in words[1:]:
        if skip_next:
            skip_next = False
        elif word in ("-C", "-f", "-j", "-o", "-W", "<", ">", ">>", "2>", "2>>"):
            skip_next = True
        elif not word.startswith(("-", "<", ">", "2>")) and "=" not in word:
            targets.append(word)
    return targets or ["help"]


@dataclass(frozen=True)
class Verdict:
    runnable: bool  # the command runs offline, here
    make_targets: tuple[str, ...] = ()
    problem: str = ""


def judge(words: Sequence[str]) -> Verdict:
    """Whether one simple command runs here, and what it needs otherwise."""
    program = words[0]
    sub = words[1] if len(words) > 1 else ""
    if program == "make":
        targets = tuple(make_targets_named(words))
        return Verdict(set(targets) <= RUNNABLE_MAKE, targets)
    if program.endswith("helm") or program in ("helm3", "helm4"):
        if sub in RUNNABLE_HELM:
            return Verdict(True)
        return Verdict(False, problem=f"`helm {sub}` talks to a cluster")
    if program == "semantic-router-operator":
        if sub in RUNNABLE_OPERATOR_CLI:
            return Verdict(True)
        return Verdict(False, problem=f"`semantic-router-operator {sub}` talks to a cluster")
    if program in PYTHONS or program.startswith("scripts/"):
        return Verdict(True)
    if program == "kubectl" and sub == "kustomize":
        return Verdict(True)
    if program in RUNNABLE_TOOLS:
        return Verdict(True)
    return Verdict(False, problem=f"`{program}` is not run offline by this test")


@functools.cache
def make_help_targets() -> frozenset[str]:
    proc = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    return frozenset(re.findall(r"^[ \t]+([A-Za-z0-9_-]+)[ \t]{2,}", plain, re.MULTILINE))


def offline_script(block: Block) -> tuple[str, list[str]]:
    """The block as a bash script (commands not run here become `:`), and its problems."""
    problems: list[str] = []
    lines = ["set -euo pipefail"]
    for command in commands(block):
        verdicts = [judge(words) for words in simple_commands(command)]
        for verdict in verdicts:
            for target in verdict.make_targets:
                if target not in make_help_targets():
                    problems.append(f"`make {target}` is not a target listed by `make help`")
            if verdict.problem:
                problems.append(
                    f"{verdict.problem}: start the block with `# needs a cluster` "
                    f"(or whatever it needs) if it cannot run offline ({command!r})"
                )
        if verdicts and all(v.runnable for v in verdicts):
            lines.append(command)
        else:
            lines.append(f": {shlex.quote(command)}")
    return "\n".join(lines) + "\n", problems


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository (virtualenv and helm binaries linked, not copied)."""
    copy = tmp_path_factory.mktemp("checkout") / "repo"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE, symlinks=True)
    for linked in (".venv", "bin"):
        if (ROOT / linked).exists():
            (copy / linked).symlink_to(ROOT / linked, target_is_directory=True)
    return copy


def run_block(block: Block, checkout: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script, problems = offline_script(block)
    assert not problems, f"{block.where}: " + "; ".join(problems)
    env = {
        **os.environ,
        "PATH": f"{checkout / 'bin'}:{checkout / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
        "HELM_DATA_HOME": str(tmp_path / "helm-data"),
        "MAKEFLAGS": "",
        "MAKELEVEL": "",
    }
    return subprocess.run(
        ["bash", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


# --- the tests -----------------------------------------------------------------------------------

SHELL_BLOCKS = shell_blocks()


def test_docs_have_shell_blocks_to_check() -> None:
    offline = [b for b in SHELL_BLOCKS if not needs_something(b)]
    assert len(SHELL_BLOCKS) >= 10
    assert any(b.path == README for b in offline)
    assert any("helm template" in line for b in offline for line in b.lines)


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.where for b in SHELL_BLOCKS])
def test_every_shell_block_runs_offline_or_says_what_it_needs(
    block: Block, checkout: Path, tmp_path: Path
) -> None:
    if needs_something(block):
        named = [
            target
            for command in commands(block)
            for words in simple_commands(command)
            if words[0] == "make"
            for target in make_targets_named(words)
        ]
        missing = sorted(set(named) - make_help_targets())
        assert not missing, f"{block.where}: make targets not in `make help`: {missing}"
        return
    result = run_block(block, checkout, tmp_path)
    assert result.returncode == 0, (
        f"{block.where} failed (exit {result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def test_blocks_that_talk_to_a_cluster_must_say_so() -> None:
    unmarked = Block(README, 1, "bash", ("kubectl get semanticrouters",))
    _, problems = offline_script(unmarked)
    assert problems and "needs a cluster" in problems[0]
    _, problems = offline_script(Block(README, 1, "bash", ("make no-such-target",)))
    assert problems == ["`make no-such-target` is not a target listed by `make help`"]


def test_an_offline_block_that_fails_fails_the_test(checkout: Path, tmp_path: Path) -> None:
    broken = Block(README, 1, "bash", ("helm template r charts/no-such-chart",))
    assert run_block(broken, checkout, tmp_path).returncode != 0


def test_heavy_make_targets_are_checked_not_run() -> None:
    script, problems = offline_script(Block(README, 1, "bash", ("make quickstart", "make help")))
    assert problems == []
    assert script.splitlines()[1:] == [": 'make quickstart'", "make help"]


def _quoted_messages(path: Path) -> Iterator[tuple[str, str]]:
    """(where, message) for each line of `log` blocks and each code span of Message columns."""
    for block in fenced_blocks(path):
        if block.lang == "log":
            for offset, line in enumerate(block.lines, 1):
                if line.strip():
                    yield f"{block.where}+{offset}", line.strip()
    for table in tables(path):
        for index, title in enumerate(table.header):
            if title == "message":
                for row, cell in table.column(index):
                    for span in code_spans(cell):
                        yield f"{path.relative_to(ROOT)}:{table.line} ({row[0]})", span


QUOTES = [quote for path in GUIDE for quote in _quoted_messages(path)]


def test_the_guide_quotes_operator_messages() -> None:
    where = {w.split(":")[0] for w, _ in QUOTES}
    assert where == {str(p.relative_to(ROOT)) for p in GUIDE}
    assert len(QUOTES) >= 40


@pytest.mark.parametrize(("where", "message"), QUOTES, ids=[w for w, _ in QUOTES])
def test_every_quoted_message_is_one_the_operator_produces(where: str, message: str) -> None:
    assert CHECK(message), f"{where}: {CHECK.explain(message)}"


@pytest.mark.parametrize(
    "line",
    [
        # words the source never says
        "No backends found because the moon is full",
        "Failed to discover backend <endpoint> (<type>): the cluster is on holiday",
        "Detected OpenShift platform - will use standard security contexts",
        # a real message with words dropped or added
        "helm failed (transient), retrying soon in <n>s",
        "Invalid SemanticRouter spec",
        "Installed release r revision 1 (chart 0.1.0, deployed) yesterday",
        "the router Deployment is not here yet",
    ],
)
def test_the_quote_checker_rejects_words_the_operator_never_says(line: str) -> None:
    assert not CHECK(line)


@pytest.mark.parametrize(
    "line",
    [
        platform.OPENSHIFT_DETECTED,
        "Failed to discover backend llama (kserve): InferenceService default/llama not found "
        "(kubectl get inferenceservice llama -n default); is KServe installed?",
        "helm upgrade ns/r failed (RenderFailed): <error>; rolled back to revision 2",
    ],
)
def test_the_quote_checker_accepts_messages_built_from_several_strings(line: str) -> None:
    assert CHECK(line)


def test_troubleshooting_quotes_the_log_lines_the_user_documentation_promises() -> None:
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    for promised in (
        platform.OPENSHIFT_DETECTED,
        platform.KUBERNETES_DETECTED,
        "No backends found",
        "Failed to discover backend",
    ):
        assert promised in text
    assert handlers.FINALIZER in text


def _named_in_columns(paths: Sequence[Path]) -> Iterator[tuple[str, str, str]]:
    """(where, column kind, name) for code spans in Reason, Condition and Phase columns."""
    for path in paths:
        for table in tables(path):
            for index, title in enumerate(table.header):
                kind = (
                    "reason"
                    if title.startswith("reason") or title == "phase, reason"
                    else "condition"
                    if title == "condition"
                    else "phase"
                    if title == "phase"
                    else ""
                )
                if not kind:
                    continue
                for row, cell in table.column(index):
                    for span in code_spans(cell):
                        yield f"{path.relative_to(ROOT)}:{table.line} ({row[0]})", kind, span


NAMED = list(_named_in_columns(GUIDE))


@pytest.mark.parametrize(("where", "kind", "name"), NAMED, ids=[f"{w}:{n}" for w, _, n in NAMED])
def test_every_reason_condition_and_phase_the_guide_names_exists(
    where: str, kind: str, name: str
) -> None:
    known = {
        "reason": source_constants() | PHASES,
        "condition": CONDITION_TYPES,
        "phase": PHASES,
    }[kind]
    assert name in known, f"{where}: {kind} {name!r} does not exist in operator/"


def test_every_reason_the_operator_sets_is_documented() -> None:
    documented = {name for _, kind, name in NAMED if kind == "reason"}
    missing = sorted(operator_reasons() - documented)
    assert not missing, (
        f"reasons set by the operator but not documented in a Reason column: {missing}"
    )


def test_every_condition_and_phase_is_documented() -> None:
    documented = {name for _, _, name in NAMED}
    assert documented >= CONDITION_TYPES | PHASES


# --- settings and metrics ------------------------------------------------------------------------


def _settings_table() -> Table:
    found = [
        t for t in tables(DOCS / "configuration.md") if t.header[:2] == ("variable", "default")
    ]
    assert len(found) == 1, "configuration.md needs one table headed | Variable | Default | ..."
    return found[0]


def _shown_default(value: object) -> str:
    if isinstance(value, tuple | list) or value == "":
        return "empty"
    if isinstance(value, Path):
        return str(settings.IMAGE_CHART_PATH)
    if isinstance(value, bool):
        return str(value).lower()  # as the variable is written: true or false
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    table = _settings_table()
    documented = {}
    for row in table.rows:
        (variable,) = code_spans(row[0])
        spans = code_spans(row[1])
        documented[variable] = spans[0] if spans else row[1].strip()
    defaults = settings.Settings()
    # The one list of settings from_env accepts; RELATED_IMAGE_* are not SR_OPERATOR_ settings
    # (OLM's names) and are documented below the table.
    expected = {
        variable: _shown_default(getattr(defaults, field))
        for variable, field in settings.variables().items()
    }
    assert documented == expected
    text = (DOCS / "configuration.md").read_text()
    assert all(f"`{name}`" in text for name in settings.RELATED_IMAGE_VARIABLES.values())


def test_the_metrics_table_names_the_operator_metrics() -> None:
    exposed = prometheus_client.generate_latest(Metrics().registry).decode()
    families = set(re.findall(r"^# TYPE (\S+) ", exposed, re.MULTILINE))
    tables_ = [t for t in tables(DOCS / "configuration.md") if t.header[:1] == ("metric",)]
    assert len(tables_) == 1
    documented = {code_spans(row[0])[0] for row in tables_[0].rows}
    assert documented == families


# --- the API reference ---------------------------------------------------------------------------


def _crd_reference_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "crd_reference", ROOT / "scripts" / "crd_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_api_reference_is_regenerated_from_the_crd() -> None:
    generated = _crd_reference_module().render()
    assert CRD_REFERENCE.read_text(encoding="utf-8") == generated, (
        "docs/crd-reference.md is stale: run `make docs`"
    )


def _field_paths(node: dict[str, typing.Any], path: str) -> Iterator[str]:
    yield path
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        yield from _field_paths_below(node["items"], path + "[]")
        return
    yield from _field_paths_below(node, path)


def _field_paths_below(node: dict[str, typing.Any], path: str) -> Iterator[str]:
    value = node.get("additionalProperties")
    if isinstance(value, dict) and value.get("properties"):
        for name, child in value["properties"].items():
            yield from _field_paths(child, f"{path}.<name>.{name}")
    for name, child in (node.get("properties") or {}).items():
        yield from _field_paths(child, f"{path}.{name}")


def test_the_api_reference_has_a_row_for_every_spec_and_status_field() -> None:
    schema = render_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    text = CRD_REFERENCE.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE))
    for root in ("spec", "status"):
        paths = list(_field_paths_below(schema["properties"][root], root))
        assert len(paths) > 20
        missing = [p for p in paths if p not in rows]
        assert not missing, f"fields without a row in docs/crd-reference.md: {missing[:10]}"


def test_the_api_reference_lists_every_validation_rule_with_its_message() -> None:
    from semantic_router_operator import models

    text = CRD_REFERENCE.read_text(encoding="utf-8")
    for rule in models.RULES:
        assert rule.message in text
        assert rule.cel.replace("|", "\\|") in text


def test_the_api_reference_pattern_examples_match_their_patterns() -> None:
    module = _crd_reference_module()
    for pattern, name in module.NAMED_PATTERNS.items():
        examples = code_spans(module.PATTERN_EXAMPLES[name])
        assert examples, name
        for example in examples:
            assert re.match(pattern, example.strip('"')), f"{name}: {example} does not match"


def test_the_crd_reference_check_mode_reports_a_stale_page(tmp_path: Path) -> None:
    module = _crd_reference_module()
    stale = tmp_path / "crd-reference.md"
    stale.write_text("old\n", encoding="utf-8")
    assert module.main(["--check", "--output", str(stale)]) == 1
    assert module.main(["--output", str(stale)]) == 0
    assert module.main(["--check", "--output", str(stale)]) == 0


# --- links ---------------------------------------------------------------------------------------


def github_anchor(title: str) -> str:
    text = re.sub(r"[`*_]", "", title.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {
        github_anchor(m.group(1))
        for _, line in prose_lines(path)
        if (m := re.match(r"^#{1,6}\s+(.*)$", line))
    }


LINKED = [README, *GUIDE, CRD_REFERENCE]


@pytest.mark.parametrize("page", LINKED, ids=[str(p.relative_to(ROOT)) for p in LINKED])
def test_relative_links_and_their_anchors_resolve(page: Path) -> None:
    broken = []
    for number, line in prose_lines(page):
        without_code = re.sub(r"`[^`]*`", "", line)
        for target in re.findall(r"\]\(([^)\s]+)\)", without_code):
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (page.parent / file_part).resolve() if file_part else page
            if not resolved.exists():
                broken.append(f"{number}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{number}: {target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)
