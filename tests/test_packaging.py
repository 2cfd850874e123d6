"""The course's artifacts (grader.packaging): Gradescope's autograder.zip runs in a fake
/autograder tree, the exported deliverables grade as a student's upload, and the student
release works as its README says without solutions/."""

import ast
import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from releases import release_tree, release_zip, unzip  # noqa: F401 - built once per session

from grader.packaging import (
    HANDOUT_FILES,
    RELEASE_FOLDER,
    ReleaseError,
    build_gradescope_zip,
    export_kata,
    flatten_imports,
    project_files,
    release_files,
)

ROOT = Path(__file__).resolve().parent.parent
STUDENT_NN = ROOT / "tests" / "mutants" / "student" / "nn.py"  # a correct flat nn.py
HAS_SOLUTIONS = (ROOT / "solutions" / "nn.py").is_file()
needs_solutions = pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: no solutions/")


def _env(**extra):
    """The environment of a child: no implementation or PYTHONPATH leaking from this run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NRK_IMPL", "PYTHONPATH", "PYTEST_ADDOPTS") and not k.startswith("COV_")
    }
    return env | {"MPLBACKEND": "Agg"} | extra


def _toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(text)


def _package_imports(source: str, package: str) -> list[int]:
    """Lines importing relatively or from ``package``."""

    def inside(module):
        return module == package or (module or "").startswith(package + ".")

    return [
        n.lineno
        for n in ast.walk(ast.parse(source))
        if (isinstance(n, ast.ImportFrom) and (n.level or inside(n.module)))
        or (isinstance(n, ast.Import) and any(inside(a.name) for a in n.names))
    ]


# ----------------------------------------------------------------------------- files
def test_flatten_imports_gives_the_handouts_flat_imports():
    source = (
        '"""Run it: ``python -m kata.run_q3 --epochs 2``."""\n'
        "import numpy as np\n"
        "from .util import *\n"
        "from .nn import (\n    forward,\n    softmax,\n)\n"
        "from . import q4\n"
        "from kata.q6_train import fit\n"
        "import kata.util as util\n"
        "from katana import x\n"
        "def f():\n    from .q4 import findLetters\n    return findLetters\n"
    )
    flat = flatten_imports(source, "kata")
    assert "from util import *\n" in flat
    assert "from nn import (\n    forward,\n    softmax,\n)\n" in flat
    assert "import q4\n" in flat and "from q6_train import fit\n" in flat
    assert "import util as util\n" in flat and "from katana import x\n" in flat
    assert "    from q4 import findLetters\n" in flat
    assert "``python run_q3.py --epochs 2``" in flat
    assert _package_imports(flat, "kata") == [] and "from ." not in flat
    with pytest.raises(ValueError, match="above the package"):
        flatten_imports("from ..coursedata import x\n", "kata")


def test_without_git_the_files_are_those_gitignore_leaves(tmp_path):
    """The fallback walk lists what git lists, under the project's own .gitignore."""
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    names = [
        "kata/nn.py", "kata/__pycache__/nn.cpython-311.pyc", "data/nist36_standin.npz",
        "data/nist36_train.mat", "data/external/cifar10/batch_1", "out/q3_1_loss.png",
        "results.json", "grader-out/report.html", "x.egg-info/PKG-INFO", ".venv",
        ".tox/shared/bin/python", "tests/test_x.py", "dist/x.whl", "docs/notes.md",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    # a .venv file (a tool's pointer to its environment) is ignored like the folder: the
    # README's `python3 -m venv .venv` needs the name
    expected = [".gitignore", "data/nist36_standin.npz", "docs/notes.md"]
    expected += ["kata/nn.py", "tests/test_x.py"]
    assert project_files(tmp_path) == expected  # not a git work tree: the walk
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        assert project_files(tmp_path) == expected  # git's own listing


# ----------------------------------------------------------------------------- Gradescope
@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    return build_gradescope_zip(tmp_path_factory.mktemp("gradescope") / "autograder.zip")


def test_autograder_zip_holds_the_scripts_and_the_grader(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        pyproject = _toml(zf.read("pyproject.toml").decode())
        setup = zf.read("setup.sh").decode()
        run = zf.read("run_autograder").decode()
    for script in ("setup.sh", "run_autograder"):  # at the root, executable
        assert (infos[script].external_attr >> 16) & 0o111, f"{script} is not executable"
    assert run.startswith("#!") and setup.startswith("#!")
    assert "[torch]" in setup and "AUTOGRADER_ROOT" in run and "NRK_QUESTIONS" in run
    assert "apt-get install" in setup and "bubblewrap" in setup  # the grader's sandbox
    names = set(infos)
    project = set(project_files(ROOT))
    for folder in ("grader/", "coursedata/", "kata/", "data/"):
        wanted = {f for f in project if f.startswith(folder) and "/gradescope/" not in f}
        assert wanted and wanted <= names, f"missing from the zip: {sorted(wanted - names)}"
    assert {"pyproject.toml", "README.md", "data/nist36_standin.npz", "kata/util.py"} <= names
    leaked = [n for n in names if n.split("/")[0] in ("solutions", "tests", ".git", ".ci")]
    assert not leaked and not [n for n in names if "__pycache__" in n]
    # packages are found, not listed: a tree without solutions/ installs
    assert "find" in pyproject["tool"]["setuptools"]["packages"]
    assert {f"{p}/__init__.py" for p in ("grader", "coursedata", "kata")} <= names


@pytest.mark.slow
def test_run_autograder_grades_a_flat_submission_into_results_json(autograder_zip, tmp_path):
    """Gradescope's layout: the zip in /autograder/source, run_autograder copied to
    /autograder, the upload in /autograder/submission; here /autograder is tmp_path."""
    root = tmp_path / "autograder"
    unzip(autograder_zip, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission" / "hw5").mkdir(parents=True)  # uploaded inside a folder
    shutil.copy(STUDENT_NN, root / "submission" / "hw5" / "nn.py")
    proc = subprocess.run(
        [str(root / "run_autograder")],
        cwd=root, capture_output=True, text=True, timeout=300,
        env=_env(AUTOGRADER_ROOT=str(root), NRK_QUESTIONS="2.2.2", NRK_PYTHON=sys.executable),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert set(results) >= {"score", "tests"}
    [test] = results["tests"]
    assert set(test) >= {"name", "number", "score", "max_score", "status", "output", "visibility"}
    assert test["number"] == "2.2.2" and test["status"] == "passed", test["output"]
    assert test["score"] == test["max_score"] == 3 and results["score"] == 3
    assert (root / "results" / "figures").is_dir()


@pytest.mark.slow
def test_run_autograder_always_leaves_a_results_json(autograder_zip, tmp_path):
    root = tmp_path / "autograder"
    unzip(autograder_zip, root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "notes.txt").write_text("forgot the code")
    env = _env(AUTOGRADER_ROOT=str(root), NRK_QUESTIONS="2.2.2", NRK_PYTHON=sys.executable)
    script = str(root / "source" / "run_autograder")

    def run():
        proc = subprocess.run([script], cwd=root, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads((root / "results" / "results.json").read_text())

    nothing = run()  # no nn.py: the grader says so, with zero points
    assert nothing["score"] == 0 and "nn.py" in json.dumps(nothing)
    (root / "source" / "grader" / "__main__.py").write_text("raise SystemExit(3)\n")
    broken = run()  # the grader itself dies: the script still writes a valid file
    assert broken["score"] == 0 and broken["tests"] == []
    assert "exit status 3" in broken["output"]


# ----------------------------------------------------------------------------- export
def _expected_deliverables(folder: Path) -> list[str]:
    names = [n for n in HANDOUT_FILES if (folder / n).is_file()]
    return names + sorted(p.name for p in folder.glob("run_q6_*.py"))


def test_exported_kata_holds_every_deliverable_with_flat_imports(tmp_path):
    archive = export_kata(tmp_path / "hw5.zip")
    expected = _expected_deliverables(ROOT / "kata")
    assert {"nn.py", "util.py", "q4.py", "run_q2.py", "run_q3.py", "q6_train.py"} <= set(expected)
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == expected  # flat, at the top, nothing else
        for name in expected:
            text = zf.read(name).decode()
            assert _package_imports(text, "kata") == [], f"{name} still imports the package"
            assert "from ." not in text
    nn = zipfile.ZipFile(archive).read("nn.py").decode()
    assert "from util import *" in nn
    again = export_kata(tmp_path / "again.zip")  # reproducible: same files, same bytes
    assert again.read_bytes() == archive.read_bytes()


@pytest.mark.slow
@needs_solutions
def test_exported_solutions_grade_full_marks_and_exported_kata_not_implemented(tmp_path):
    from grader.grade import checks_of, grade
    from grader.questions import QUESTIONS
    from grader.submission import open_submission

    q2 = [q for q in QUESTIONS if q.id.startswith("2.") and checks_of(q)]
    assert "2.2.2" in {q.id for q in q2}
    with open_submission(str(export_kata(tmp_path / "solutions.zip", impl="solutions"))) as sub:
        assert sub.folder is not None  # graded as a flat upload, not as the package
        result = grade(sub, q2, out_dir=tmp_path / "figures")
    short = [
        f"Q{s.question.id}: {s.status}\n{s.feedback}"
        for s in result.scores
        if s.score < s.max_score
    ]
    assert not short, "\n".join(short)
    assert all(s.status == "passed" for s in result.scores)
    q222 = [q for q in q2 if q.id == "2.2.2"]
    with open_submission(str(export_kata(tmp_path / "kata.zip"))) as sub:
        [score] = grade(sub, q222).scores
    assert (score.score, score.status) == (0, "not implemented"), score.feedback


# ----------------------------------------------------------------------------- release
needs_git = pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def tiny_project(tmp_path):
    """A git work tree shaped like the project: a kata stub, a reference, a mutant."""
    repo = tmp_path / "project"
    files = {
        "README.md": "# kata\n",
        "kata/nn.py": 'def softmax(x):\n    raise NotImplementedError("Q2.2.2 softmax")\n',
        "solutions/nn.py": "def softmax(x):\n    return x\n",
        "tests/mutants/catalog.py": "MUTANTS = []\n",
        "tests/test_mutants.py": "from mutants.catalog import MUTANTS\n",
        "tests/test_nn_softmax.py": "def test_x():\n    pass\n",
        "coursedata/q4_reference.py": "BACKPROP = 1\n",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(tmp_path, "init", "-q", str(repo))
    for key, value in (("user.email", "t@example.org"), ("user.name", "t")):
        _git(repo, "config", key, value)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first")
    return repo


@needs_git
def test_release_files_are_the_committed_tree_less_the_instructors(tiny_project):
    files = release_files(tiny_project)
    assert sorted(files) == ["README.md", "kata/nn.py", "tests/test_nn_softmax.py"]
    assert files["kata/nn.py"][0] == (tiny_project / "kata/nn.py").read_bytes()
    # a later commit is in HEAD's release, not in HEAD~1's (--ref)
    (tiny_project / "kata" / "util.py").write_text("X = 1\n")
    _git(tiny_project, "add", "-A")
    _git(tiny_project, "commit", "-qm", "util")
    assert "kata/util.py" in release_files(tiny_project)
    with pytest.raises(ReleaseError, match="kata/util.py"):  # the kata differs from HEAD~1
        release_files(tiny_project, "HEAD~1")
    assert "kata/util.py" not in release_files(tiny_project, "HEAD~1", allow_dirty=True)
    with pytest.raises(ReleaseError, match="no-such-ref"):
        release_files(tiny_project, "no-such-ref")


@needs_git
def test_release_refuses_when_the_kata_differs_from_the_ref(tiny_project):
    committed = (tiny_project / "kata" / "nn.py").read_bytes()
    (tiny_project / "kata" / "nn.py").write_text("def softmax(x):\n    return 'an answer'\n")
    (tiny_project / "kata" / "scratch.py").write_text("tried = True\n")
    with pytest.raises(ReleaseError) as refused:
        release_files(tiny_project)
    message = str(refused.value)
    assert "kata/nn.py" in message and "kata/scratch.py" in message
    assert "--allow-dirty" in message and "HEAD" in message
    # told to go on: the committed stub ships, never the working copy
    files = release_files(tiny_project, allow_dirty=True)
    assert files["kata/nn.py"][0] == committed and "kata/scratch.py" not in files
    # a change staged but not committed is a difference too
    (tiny_project / "kata" / "scratch.py").unlink()
    _git(tiny_project, "add", "kata/nn.py")
    with pytest.raises(ReleaseError, match="kata/nn.py"):
        release_files(tiny_project)


@needs_git
def test_release_command_says_why_it_refuses(tiny_project, tmp_path, monkeypatch, capsys):
    import grader.packaging as packaging
    from grader.__main__ import release_main

    monkeypatch.setattr(packaging, "ROOT", tiny_project)
    (tiny_project / "kata" / "nn.py").write_text("answered = True\n")
    out = tmp_path / "r.zip"
    assert release_main([str(out)]) == 2 and not out.exists()
    assert "kata/nn.py" in capsys.readouterr().err
    assert release_main([str(out), "--allow-dirty", "--ref", "HEAD"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert "answered" not in zf.read(f"{RELEASE_FOLDER}/kata/nn.py").decode()


# The release is built end to end (the committed tree, the public face recorded over the
# solutions and every mutant: about 10 s on 2 cores): the tests that read it are slow tier.
@pytest.fixture
def release(release_zip, release_tree):  # noqa: F811 - the session's release (tests/releases.py)
    return release_zip, release_tree


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_release_is_the_project_without_instructor_files(release):
    archive, folder = release
    with zipfile.ZipFile(archive) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
    assert tops == {RELEASE_FOLDER}
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for gone in ("solutions/", ".ci/", "tests/mutants/", ".git/", "tests/test_grader"):
        assert not [f for f in files if f.startswith(gone)], f"{gone} is in the release"
    assert {"tests/test_nn_softmax.py", "tests/test_conformance.py"} <= files  # the self-check
    assert {"README.md", "pyproject.toml", "conftest.py", "tox.ini", "kata/nn.py"} <= files
    # the README's `python3 -m venv .venv` needs the name free (a stray file once went in)
    assert not (folder / ".venv").exists(), "the release holds a .venv"
    shipped = {f for f in project_files(ROOT) if f.startswith(("kata/", "grader/", "data/"))}
    assert shipped - {f for f in shipped if f.startswith("grader/release/")} <= files
    # no reference answer under another name (util.py, the given file, is the same in both)
    kata = {_sha(p) for p in (ROOT / "kata").glob("*.py")}
    answers = [*(ROOT / "solutions").glob("*.py"), *(ROOT / "tests" / "mutants").rglob("*.py")]
    answers = {_sha(p) for p in answers if p.stat().st_size > 200} - kata
    leaks = [f for f in files if f.endswith(".py") and _sha(folder / f) in answers]
    assert not leaks, leaks
    # pyproject.toml finds its packages (a fixed list naming solutions would break
    # pip install -e . and tox here)
    setuptools = _toml((folder / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "find" in setuptools["packages"]
    assert all((folder / p / "__init__.py").is_file() for p in ("grader", "coursedata", "kata"))


@pytest.mark.slow
def test_release_runs_the_public_face(release):
    """The answers the grader holds stay out: the oracle's public face, the recorded values,
    no Q3.1 training loop, no Q4 data builder, no training loop in the kata's given code."""
    _, folder = release
    assert json.loads((folder / "grader" / "face.json").read_text())["face"] == "public"
    oracle = (folder / "grader" / "oracle.py").read_text()
    assert oracle == (ROOT / "grader" / "release" / "oracle.py").read_text()
    assert "np.exp" not in oracle and "log10" not in oracle and "sqrt(6" not in oracle
    assert (folder / "grader" / "public_expected.npz").stat().st_size > 10_000
    assert not (folder / "coursedata" / "q4_reference.py").exists()
    assert not (folder / "grader" / "release").exists()
    q3 = (folder / "grader" / "checks" / "q3_common.py").read_text()
    loop = q3[q3.index("def loop_train(") : q3.index("\n\n\n", q3.index("def loop_train("))]
    assert "NotProvided" in loop and "backwards" not in loop.split('"""')[-1]
    assert "train_quick_network" not in (folder / "kata" / "run_q4.py").read_text()
    assert (folder / "tests" / "test_graded_checks.py").is_file()


def _student_loop_commands(folder: Path) -> tuple[list[str], list[str]]:
    """The release README's self-check (``pytest -m ...``) and grader (``python -m grader``)."""
    readme = (folder / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## The student loop\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section, "the release's README.md has no '## The student loop' section"
    spans = re.findall(r"`([^`\n]+)`", section.group(1))
    pytest_cmd = next((s for s in spans if s.startswith("pytest -m ")), None)
    grader_cmd = next((s for s in spans if s.startswith("python -m grader")), None)
    assert pytest_cmd and grader_cmd, f"the student loop's commands changed: {spans}"
    return shlex.split(pytest_cmd), shlex.split(grader_cmd)[:3]


@pytest.mark.slow
def test_release_student_loop_from_the_readme_works_without_solutions(release, tmp_path):
    """In the unpacked release: the README's self-check on one question exits 0 saying
    NOT IMPLEMENTED, and the grader reports it not implemented with 0 points."""
    _, folder = release
    assert not (folder / "solutions").exists()
    pytest_cmd, grader_cmd = _student_loop_commands(folder)
    env = _env(PYTHONPATH=str(folder))
    marker = pytest_cmd.index("-m") + 1
    pytest_cmd[marker] = "q2_2_2"
    check = subprocess.run(
        [sys.executable, "-m", *pytest_cmd, "-v", "-p", "no:cacheprovider"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = check.stdout + check.stderr
    assert check.returncode == 0, out[-4000:]
    assert "NOT IMPLEMENTED" in out
    assert re.search(r"Q2\.2\.2\s+softmax\s+0/\d+ passed, \d+ not implemented\s*$", out, re.M), out
    results = tmp_path / "results.json"
    graded = subprocess.run(
        [sys.executable, *grader_cmd[1:], "--questions", "2.2.2", "--results", str(results)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert re.search(r"Q2\.2\.2\s+0/3\s+not implemented", graded.stdout), graded.stdout
    [test] = json.loads(results.read_text())["tests"]
    assert test["score"] == 0 and "not implemented" in test["output"]


# ----------------------------------------------------------------------------- release README
def readme_commands(text: str, section: str | None = None) -> list[str]:
    """The commands of a README: every line of its fenced blocks, and every inline span that
    runs something (``pytest -m ...``, ``python -m ...``, ``pip ...``), in order; within
    ``## section`` only, when given."""
    if section is not None:
        found = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        assert found, f"the README has no '## {section}' section"
        text = found.group(1)
    commands = []
    for fenced, inline in re.findall(r"^```[^\n]*\n(.*?)^```|`([^`\n]+)`", text, re.S | re.M):
        if fenced:
            commands += [ln.strip() for ln in fenced.splitlines() if ln.strip()]
        elif inline.startswith(("pytest ", "python ", "pip ")):
            commands.append(inline)
    return commands


def test_readme_commands_are_read_from_blocks_and_spans():
    text = (
        "## A\n\n```\npython3 -m venv .venv\npip install -e .\n```\n\nthen `pytest -m q2_3` "
        "(or `pytest`), see `kata/nn.py` and `python -m grader --questions 2.3`.\n\n## B\n"
        "```\npytest -m q6_1_1\n```\n"
    )
    assert readme_commands(text, "A") == [
        "python3 -m venv .venv", "pip install -e .", "pytest -m q2_3",
        "python -m grader --questions 2.3",
    ]  # fmt: skip
    assert readme_commands(text, "B") == ["pytest -m q6_1_1"]


@pytest.mark.slow
def test_release_readme_is_the_students(release):
    _, folder = release
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "solutions" not in readme  # the instructors' README starts with --impl solutions
    for heading in ("Quick start", "The student loop", "Points", "Public and hidden checks"):
        assert f"\n## {heading}\n" in readme, heading
    assert "| Q2.2.2 | 3 | softmax |" in readme  # the points table, from grader/questions.py
    assert "public checks: your final grade also runs hidden checks" in readme
    setup = ["python3 -m venv .venv", ". .venv/bin/activate", 'pip install -e ".[test]"']
    assert readme_commands(readme)[:3] == setup


def _pip_unreachable(output: str) -> bool:
    return any(
        s in output
        for s in ("No matching distribution", "Could not find a version", "Failed to establish")
    )


def _run_readme(folder: Path, commands: list[str], log: Path, timeout: float) -> None:
    """Run ``commands`` one after the other in ``folder`` with bash (the venv's activation
    carries over); fail naming the first that fails, skip when pip cannot reach packages."""
    script = ["set -e"]
    for i, command in enumerate(commands):
        shown = shlex.quote(command)
        script += [f"echo '>>> [{i}]' {shown}", command, f"echo '<<< [{i}] ok' at $SECONDS s"]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        # PIP_NO_COMPILE: no byte-compiling of every installed file (scipy, matplotlib ...);
        # what the commands import compiles as it loads.
        cwd=folder, env=_env(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_COMPILE="1", CI="1"),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    log.write_text(out)
    if proc.returncode != 0:
        ran = re.findall(r"^>>> \[(\d+)\]", proc.stdout, re.M)
        failed = commands[int(ran[-1])] if ran else "?"
        if failed.startswith("pip ") and _pip_unreachable(out):
            pytest.skip(f"offline and {failed!r} needs packages pip has not cached")
        pytest.fail(f"the README's command {failed!r} failed:\n{out[-6000:]}", pytrace=False)
    done = re.findall(r"^<<< \[(\d+)\] ok", proc.stdout, re.M)
    assert len(done) == len(commands), out[-3000:]


@pytest.fixture(scope="module")
def solved_release(release_tree, tmp_path_factory):  # noqa: F811
    """A copy of the release whose kata/ holds the solutions: a student who did it all."""
    folder = tmp_path_factory.mktemp("solved") / RELEASE_FOLDER
    shutil.copytree(release_tree, folder)
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copy(path, folder / "kata" / path.name)
    return folder


@pytest.mark.slow
@needs_solutions
def test_every_command_of_the_release_readme_runs_in_a_fresh_virtualenv(solved_release):
    """Quick start and the student loop, in order, in the unpacked release of a student who
    answered everything: a fresh virtualenv from ``python3 -m venv`` (its Python is this
    test's), the packages from pip (its cache when offline), no PyTorch; each command exits 0
    and the self-check and grader say which face they ran."""
    readme = (solved_release / "README.md").read_text(encoding="utf-8")
    commands = readme_commands(readme, "Quick start") + readme_commands(readme, "The student loop")
    # each command once, in the order first shown (a command the prose names twice is one run)
    commands = list(dict.fromkeys(commands))
    commands = [re.sub(r"^python3 -m venv", f"{sys.executable} -m venv", c) for c in commands]
    log = solved_release / "readme-run.log"
    _run_readme(solved_release, commands, log, timeout=1800)
    out = log.read_text()
    assert "Q2.2.2            3/3  passed" in out, out[-3000:]
    assert out.count("public checks: your final grade also runs hidden checks") >= 2
    # the loop's run_q3 saves the network Q4 reads, as the README says
    assert "Q3.1 saved the best parameters to" in out, out[-3000:]
    venv_python = solved_release / ".venv" / "bin" / "python"
    probe = subprocess.run([str(venv_python), "-c", "import torch"], capture_output=True)
    assert probe.returncode != 0, "Q2-Q5's virtualenv must not need PyTorch (it has it)"


@pytest.mark.slow
@needs_solutions
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch here")
def test_the_release_readme_q6_commands_run_with_pytorch(solved_release):
    """The Q6 section, after the quick start's virtualenv (the previous test's, or a new one).
    PyTorch comes from this test's own environment through a .pth file in the virtualenv
    (the index's build is 1-3 GB): the README's ``pip install -e ".[torch]"`` runs and finds
    it installed, and the sandboxed grader must see it there too."""
    import torch

    readme = (solved_release / "README.md").read_text(encoding="utf-8")
    commands = readme_commands(readme, "Q6 (PyTorch)")
    assert commands[0].startswith("pip install") and "[torch]" in commands[0]
    if not (solved_release / ".venv").is_dir():
        setup = readme_commands(readme, "Quick start")[:3]
        commands = [re.sub(r"^python3 -m venv", f"{sys.executable} -m venv", setup[0])] + commands
        commands[1:1] = setup[1:]
    else:
        commands = [". .venv/bin/activate", *commands]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = solved_release / ".venv" / "lib" / version / "site-packages"
    shared = Path(torch.__file__).resolve().parent.parent
    pth = f"echo {shlex.quote(str(shared))} > {shlex.quote(str(site_packages))}/_nrk_torch.pth"
    commands.insert(len(commands) - len(readme_commands(readme, "Q6 (PyTorch)")), pth)
    try:
        _run_readme(solved_release, commands, solved_release / "readme-q6.log", timeout=2400)
    finally:  # the Q2-Q5 virtualenv stays without PyTorch
        (site_packages / "_nrk_torch.pth").unlink(missing_ok=True)
    out = (solved_release / "readme-q6.log").read_text()
    # the self-check ran Q6.1.1's checks, and the grader (its child in the sandbox) gave the
    # solved kata Q6.1.1's points: PyTorch was there for both
    assert re.search(r"Q6\.1\.1 .*\b(\d+)/\1 passed", out), out[-3000:]
    assert re.search(r"Q6\.1\.1\s+(\d+)/\1\s+passed", out), out[-3000:]
