"""Every command in README.md and docs/*.md runs as written, or is marked as shown only.

Each shell (bash, sh, shell, console) or Python code block carries a marker: an HTML comment
on the line just before its opening fence.

    <!-- runnable -->                  run it (bash -e; Python with this interpreter), 60 s at most
    <!-- runnable timeout=120 -->      the same, with another limit in seconds
    <!-- not-runnable: REASON -->      shown only (a SLURM cluster, a full-size run, a GPU...);
                                       every `lightpipe ...` line must still parse, and every
                                       script, config and make target it names must exist

Runnable blocks run page by page (README.md first, then docs/*.md by name), in order, in one
temporary working directory holding a copy of `configs/`, so whatever they write lands there;
`lightpipe` and `python` are this interpreter's (its `bin/` first on PATH) and import this
checkout (PYTHONPATH). A page after the README may use the quickstart's dataset
(`lightpipe predict --config configs/tiny.yaml`, in `output_tiny/`), made here when missing.
Keep runnable commands tiny (configs/tiny.yaml or 64x64 overrides): the whole file runs in
`make test` (marker e2e); the marker check and the check that every relative link (and its
#heading) resolves also in `make test-fast`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
LIGHTPIPE = BIN / "lightpipe"
SHELL, PYTHON = {"bash", "sh", "shell", "console"}, {"python", "py"}
DEFAULT_TIMEOUT = 60
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(runnable(?:\s+timeout=(\d+))?|not-runnable:\s*(\S.*?))\s*-->\s*$")
# A command written in an unlabelled block (it would escape every check).
BARE_COMMAND = re.compile(r"^\s*(\$ )?(lightpipe (predict|plan|verify|preview|fit|export)\b(?!:)"
                          r"|make \w|sbatch |python \S)")
QUICKSTART = ["predict", "--config", "configs/tiny.yaml"]
QUICKSTART_OUTPUT = "output_tiny"


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    marker: str | None  # "runnable", "not-runnable" or None
    timeout: int = DEFAULT_TIMEOUT
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """Every fenced block of a page with its language and marker."""
    lines, blocks, i = page.read_text().splitlines(), [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, language, start = fence.group(1), fence.group(2).lower(), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        found = MARKER.match(lines[start - 1]) if start else None
        marker = timeout = reason = None
        if found:
            marker = "runnable" if found.group(1).startswith("runnable") else "not-runnable"
            timeout, reason = found.group(2), found.group(3) or ""
        blocks.append(Block(page, start + 1, language, "\n".join(body) + "\n", marker,
                            int(timeout or DEFAULT_TIMEOUT), reason or ""))
    return blocks


def checked_blocks(kind: str | None = None) -> list[Block]:
    return [b for page in PAGES for b in code_blocks(page)
            if b.language in SHELL | PYTHON and (kind is None or b.marker == kind)]


def test_every_shell_and_python_block_is_marked():
    unmarked = [f"{b.where} ({b.language})" for b in checked_blocks() if b.marker is None]
    assert not unmarked, ("mark each block `<!-- runnable -->` or `<!-- not-runnable: REASON -->` "
                          "on the line before its fence: " + ", ".join(unmarked))
    no_reason = [b.where for b in checked_blocks("not-runnable") if not b.reason.strip()]
    assert not no_reason, f"a not-runnable block says why: {no_reason}"


def test_commands_are_never_in_unlabelled_blocks():
    bare = [f"{b.where}: {line.strip()}" for page in PAGES for b in code_blocks(page)
            if b.language in ("", "text") for line in b.code.splitlines()
            if BARE_COMMAND.match(line)]
    assert not bare, f"put commands in a ```bash block with a marker: {bare}"


def test_the_pages_have_runnable_blocks():
    """The README's workflow runs: a test that finds nothing to run cannot fail."""
    runnable = checked_blocks("runnable")
    assert any(b.page.name == "README.md" and "lightpipe predict" in b.code for b in runnable)
    assert any(b.language in PYTHON for b in runnable)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("docs_commands")
    shutil.copytree(REPO / "configs", work / "configs")
    return work


def environment() -> dict[str, str]:
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PATH": path, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"}
    env.pop("LIGHTPIPE_RUN_ID", None)  # each command is its own run
    return env


def run_block(block: Block, cwd: Path) -> None:
    if block.language in PYTHON:
        script = cwd / f"block_{block.page.stem}_{block.line}.py"
        script.write_text(block.code)
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-e", "-c", block.code]
    try:
        proc = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True,
                              text=True, timeout=block.timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: still running after {block.timeout} s (keep runnable "
                    "blocks tiny, or give the marker a timeout=SECONDS)")
    assert proc.returncode == 0, (f"{block.where} exited {proc.returncode}:\n{block.code}\n"
                                  f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


RUNNABLE_PAGES = sorted({b.page.relative_to(REPO).as_posix() for b in checked_blocks("runnable")},
                        key=lambda page: (page != "README.md", page))


@pytest.mark.e2e
@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_runnable_blocks_run(page, workdir):
    blocks = [b for b in checked_blocks("runnable") if b.page == REPO / page]
    if page != "README.md" and not (workdir / QUICKSTART_OUTPUT / "dataset.json").exists():
        subprocess.run([str(LIGHTPIPE), *QUICKSTART], cwd=workdir, env=environment(),
                       capture_output=True, check=True, timeout=120)
    for block in blocks:
        run_block(block, workdir)


def shown_commands(block: Block) -> list[list[str]]:
    """The simple commands of a shell block, as words: line continuations joined, comments,
    leading `VAR=value` assignments and everything from a pipe, redirection or `&&` on dropped."""
    commands = []
    for line in block.code.replace("\\\n", " ").splitlines():
        line = line.removeprefix("$ ")  # a console prompt
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        words = []
        for word in lexer:
            if set(word) <= set("();<>|&"):
                break
            if words or not re.match(r"^[A-Za-z_]\w*=", word):
                words.append(word)
        if words:
            commands.append(words)
    return commands


_VALIDATE = """
import contextlib, io, json, sys
from lightpipe.commands.dispatch import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, err.getvalue()[-500:]])
print(json.dumps(results))
"""


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))


@pytest.mark.e2e
def test_shown_commands_parse():
    """A not-runnable block's `lightpipe` lines parse (the command exists, every option is known
    and typed right: `--print_config` parses without running), and the files and make targets
    its other commands name exist."""
    problems, argvs, origins = [], [], []
    targets = _make_targets()
    for block in checked_blocks("not-runnable"):
        if block.language not in SHELL:
            continue
        for words in shown_commands(block):
            program, args = words[0], words[1:]
            if program == "lightpipe":
                wants_help = not args or {"-h", "--help"} & set(args)
                argvs.append(args if wants_help else [*args, "--print_config"])
                origins.append(f"{block.where}: {shlex.join(words)}")
            elif program == "make":
                problems += [f"{block.where}: no make target {t!r}" for t in args
                             if "=" not in t and t not in targets]
            else:
                problems += [f"{block.where}: {word} does not exist" for word in args
                             if re.fullmatch(r"[\w./-]+\.(py|sh|yaml)", word)
                             and not (REPO / word).exists()]
    assert argvs, "no shown lightpipe command found: the parser of this test is broken"
    proc = subprocess.run([sys.executable, "-c", _VALIDATE, json.dumps(argvs)], cwd=REPO,
                          env=environment(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for origin, (code, err) in zip(origins, json.loads(proc.stdout.splitlines()[-1])):
        if code not in (0, None):
            problems.append(f"{origin}: exit {code}: {err.strip()}")
    assert not problems, "\n".join(problems)


def _anchors(page: Path) -> set[str]:
    """GitHub's ids of a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", page.read_text(), re.M)}


def test_links_between_pages_resolve():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked here
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, broken
