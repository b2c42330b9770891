"""``autograder similarity``: disguised copies are found, independent solutions are not, the
starter code does not count, the pages show the matches safely. No grading: tokens and files."""

from __future__ import annotations

import difflib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import similarity_class as corpus
from util import PAGE_FIGURES, ROOT, in_chromium, needs_chromium, replace_body

from autograder import manifest
from autograder.generate import pipelines
from autograder.generate import transforms as t
from autograder.generate.cells import NOT_GRADED
from autograder.similarity import command, compare, section, winnow
from autograder.similarity.student import starter, student_code
from autograder.similarity.tokens import lines
from autograder.submission.load import load

THRESHOLD = command.THRESHOLD


def analyse(folder: Path, assignment: str, **kwargs) -> command.Result:
    return command.analyse(assignment=assignment, folder=folder, **kwargs)


def score(result: command.Result, a: str, b: str) -> float:
    return next((p.score for p in result.pairs if set(result.names(p)) == {a, b}), 0.0)


def norms(source: str, keep: frozenset[str] = frozenset({"np", "tf"})) -> list[str]:
    return [t.norm for line in lines(source, 0, keep) for t in line.tokens]


# --- tokens ------------------------------------------------------------------------------------

def test_renamed_variables_comments_and_layout_give_the_same_tokens():
    one = "def f(x, w):\n    out = np.dot(x, w)  # the layer\n    return out + 1.0\n"
    two = ("def f(x, w):\n    # a comment line\n    result = np.dot(\n        x,\n        w,\n    )\n"
           "\n    return (result + 1.)\n")
    assert norms(one) == norms(two)
    assert "dot" in norms(one) and "np" in norms(one) and "out" not in norms(one)


def test_api_names_keyword_arguments_and_numbers_are_kept():
    assert norms("y = tf.matmul(a, b)") != norms("y = tf.add(a, b)")
    assert norms("s = np.sum(x, axis=1)") != norms("s = np.sum(x, keepdims=1)")
    assert norms("h = 1e-5") == norms("h = 0.00001") != norms("h = 1e-4")


def test_a_name_the_starter_defines_is_the_students_own_inside_a_function():
    keep = frozenset({"np", "theta"})  # a demo cell's global
    assert norms("def f(theta):\n    return theta * 2\n", keep) == \
        norms("def f(t):\n    return t * 2\n", keep)
    assert norms("z = theta * 2", keep) != norms("z = other * 2", keep)


def test_code_that_does_not_tokenize_is_scanned_line_by_line():
    source = '%matplotlib inline\n!pip install x\ndef f(:\n    return "unclosed\n    x = (1,\n'
    assert norms(source)  # no exception, some tokens
    assert "matplotlib" not in norms(source) and "pip" not in norms(source)
    assert norms('s = f"{a} and {b!r}"') == norms("s = 'plain'")


# --- winnowing ---------------------------------------------------------------------------------

def test_winnowing_keeps_a_fingerprint_of_every_long_match_and_none_of_a_short_one():
    rng = random.Random(1)
    k, w = winnow.K, winnow.W
    for trial in range(200):
        shared = [f"t{rng.randrange(40)}" for _ in range(k + w - 1 + trial % 5)]
        a = [f"a{rng.randrange(9)}" for _ in range(rng.randrange(30))] + shared + ["a"] * 3
        b = ["b"] * rng.randrange(20) + shared
        prints_a = {winnow.kgram_hashes(a, k)[i] for i in winnow.winnow(winnow.kgram_hashes(a, k), w)}
        prints_b = {winnow.kgram_hashes(b, k)[i] for i in winnow.winnow(winnow.kgram_hashes(b, k), w)}
        assert prints_a & prints_b, trial
    short = ["x"] * (k - 1)
    assert not set(winnow.kgram_hashes(["a", *short, "b"], k)) & set(winnow.kgram_hashes(short, k))


# --- the starter code --------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", [a.name for a in manifest.ASSIGNMENTS])
def test_the_students_own_code_is_exactly_what_they_write(assignment: str):
    """In the reference with its solution markers, the own code is the lines between the markers
    (comments aside): no def line, docstring, given helper, import or self-check."""
    cells = [c for c in pipelines.build(assignment, (t.tag_solution_cells,))
             if c.kind == "code" and not NOT_GRADED & set(c.tags)]
    expected = set()
    for number, cell in enumerate(cells):
        inside = False
        for row, line in enumerate(cell.source.split("\n"), start=1):
            stripped = line.strip()
            if stripped in (t.BEGIN, t.END):
                inside = stripped == t.BEGIN
            elif inside and stripped and not stripped.startswith("#"):
                expected.add((number, row))
    code = student_code([(n, c.source) for n, c in enumerate(cells)],
                        command.stub_starter(assignment))
    found = {(tok.cell, row) for s in code.segments for tok in s.tokens
             for row in range(tok.start[0], tok.end[0] + 1)}
    assert found == expected


def test_the_stub_is_skipped_and_the_starter_code_does_not_count(tmp_path: Path):
    """Two students who wrote different halves share all the starter code (one changed a given
    helper and reformatted everything): what they share of their own is a few idioms."""
    reference = corpus.independent("losses")["reference"]
    functions = pipelines.graded_functions("losses")
    first, second = reference, reference
    for function in functions[4:]:
        first = replace_body(first, function, 'raise NotImplementedError("later")')
    for function in functions[:4]:
        second = replace_body(second, function, 'raise NotImplementedError("later")')
    changed = replace_body(first, "run_in_graph", "return fn(*arrays)  # a given helper, changed")
    folder = corpus.write(tmp_path / "class", "losses",
                          {"first": corpus.reformatted(changed), "second": second})
    stub = ROOT / "assignments" / "losses" / "losses.ipynb"
    (folder / "stub.ipynb").write_text(stub.read_text(encoding="utf-8"), encoding="utf-8")
    result = analyse(folder, "losses")
    assert ("stub.ipynb", "holds no code of its own (only the starter code)") in result.skipped
    assert [s.student for s in result.submissions] == ["first", "second"]
    segments = [{seg.name for seg in s.code.segments} for s in result.submissions]
    assert segments == [set(functions[:4]), set(functions[4:])]  # only what they wrote
    own = score(result, "first", "second")
    assert own < 0.25  # a few idioms of their own (axis=-1, keepdims=True)
    # Counted, the starter code (imports, docstrings, helpers, self-checks) would flag them.
    plain = corpus.write(tmp_path / "plain", "losses", {"first": first, "second": second})
    counted = [compare.fingerprint(name, name, student_code(
        [(c["index"], c["source"]) for c in load(plain / f"{name}.ipynb", "losses")[1]],
        starter([]))) for name in ("first", "second")]
    assert compare.pairs(counted, set())[0].score > max(0.4, 2 * own)


# --- copies and independent solutions ----------------------------------------------------------

@pytest.mark.parametrize("assignment", corpus.ASSIGNMENTS)
@pytest.mark.parametrize("disguise", list(corpus.DISGUISES))
def test_each_disguise_is_still_found(tmp_path: Path, assignment: str, disguise: str):
    solutions = corpus.independent(assignment)
    original = solutions["own-a"]
    copy = corpus.DISGUISES[disguise](original)
    assert difflib.SequenceMatcher(None, original, copy).ratio() < 0.995  # it is disguised
    folder = corpus.write(tmp_path / "class", assignment,
                          {"original": original, "copy": copy, "reference": solutions["reference"]})
    result = analyse(folder, assignment)
    assert result.names(result.pairs[0]) == ("copy", "original"), result.pairs[0]
    assert result.pairs[0].score >= 0.9 and [result.names(p) for p in result.flagged] == \
        [("copy", "original")]


@pytest.mark.parametrize("assignment", corpus.ASSIGNMENTS)
def test_independent_correct_solutions_are_not_flagged(tmp_path: Path, assignment: str):
    folder = corpus.write(tmp_path / "class", assignment, corpus.independent(assignment))
    result = analyse(folder, assignment, common=10**9)  # without the class filter
    assert len(result.submissions) == 4 and not result.flagged, result.pairs
    assert max(p.score for p in result.pairs) > 0.05  # they do share code: the test can fail
    assert max(p.score for p in result.pairs) < THRESHOLD - 0.15


def test_code_that_many_share_is_an_idiom_and_said_so(tmp_path: Path):
    """MOSS's rule: a fingerprint of more than ``common`` submissions is left out. Twelve copies
    of one solution are then invisible by default, and the result says why."""
    solutions = corpus.independent("losses")
    sources = {f"copy{i:02d}": corpus.renamed(solutions["own-a"]) for i in range(12)}
    folder = corpus.write(tmp_path / "class", "losses", {**sources, "ref": solutions["reference"]})
    result = analyse(folder, "losses")
    assert result.common == 10 and not result.flagged
    assert sorted(result.crowded) == sorted(sources) and result.frequent > 0
    assert "try a higher --common" in command.describe(result)
    assert len(analyse(folder, "losses", common=12).flagged) == 12 * 11 // 2


def test_a_class_in_nbgrader_layout_names_files_relative_to_it(tmp_path: Path):
    solutions = corpus.independent("losses")
    course = tmp_path / "course"
    for student, source in (("alice", solutions["own-b"]), ("bob", corpus.renamed(solutions["own-b"])),
                            ("carol", solutions["reference"])):
        corpus.write(course / "submitted" / student / "losses", "losses", {"losses": source})
    result = command.main(assignment="losses", folder=course, out=tmp_path / "grades")
    assert [result.names(p) for p in result.flagged] == [("alice", "bob")]
    assert result.submissions[0].file == "submitted/alice/losses/losses.ipynb"
    written = list((tmp_path / "grades" / "similarity" / "losses").iterdir())
    assert {p.name for p in written} == {"index.html", "pair-001.html", "pairs.json", "pairs.csv"}
    for path in written:
        assert str(tmp_path) not in path.read_text(encoding="utf-8"), path.name
    pairs = json.loads((tmp_path / "grades" / "similarity" / "losses" / "pairs.json").read_text())
    assert pairs["pairs"][0]["page"] == "pair-001.html" and pairs["pairs"][0]["flagged"]
    assert len(pairs["pairs"]) == len(result.pairs) and pairs["parameters"]["k"] == winnow.K


def test_matching_regions_hold_the_same_tokens_on_both_sides(tmp_path: Path):
    solutions = corpus.independent("gradient_descent")
    copy = corpus.DISGUISES["all four"](solutions["own-b"])
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.py").write_text(solutions["own-b"], encoding="utf-8")  # .py files are read too
    (folder / "b.py").write_text(copy, encoding="utf-8")
    result = analyse(folder, "gradient_descent")
    a, b = result.submissions
    found = compare.matches(a, b, result.ignore)
    assert len(found) >= len(pipelines.graded_functions("gradient_descent"))
    taken: set[tuple[int, int]] = set()
    for m in found:
        left, right = compare.tokens_of(a.code, m.a), compare.tokens_of(b.code, m.b)
        assert [t.norm for t in left] == [t.norm for t in right] and len(left) >= winnow.K
        spans = {(m.a[0], i) for i in range(m.a[1], m.a[2] + 1)}
        assert not spans & taken  # no token in two regions
        taken |= spans
    assert len(taken) > 0.9 * a.code.size  # nearly all of it: the copy is whole


# --- pages -------------------------------------------------------------------------------------

TRICK = '\n    label = "\u202e}tluser nruter{"  # \u200bhidden </pre><script>alert(1)</script>\n'


def _class_with_tricks(tmp_path: Path) -> Path:
    solutions = corpus.independent("backprop")
    original = replace_body(solutions["own-b"], "relu_forward",
                                   TRICK + "    out = x.copy()\n    out[out < 0] = 0\n    return out")
    return corpus.write(tmp_path / "class", "backprop", {
        "ann\u202eeve": original, "bob": corpus.DISGUISES["renamed+reordered+commented"](original),
        "carol": solutions["reference"]})


def test_the_pages_escape_submissions_and_show_hidden_characters(tmp_path: Path):
    command.main(assignment="backprop", folder=_class_with_tricks(tmp_path), out=tmp_path / "out")
    where = tmp_path / "out" / "similarity" / "backprop"
    for name in ("index.html", "pair-001.html"):
        text = (where / name).read_text(encoding="utf-8")
        assert "\u202e" not in text and "\u200b" not in text and "<script>alert" not in text
        assert 'title="RIGHT-TO-LEFT OVERRIDE"' in text
    assert "&lt;/pre&gt;&lt;script&gt;" in (where / "pair-001.html").read_text(encoding="utf-8")


@needs_chromium
def test_the_pair_page_renders_with_the_same_matches_on_both_sides(tmp_path: Path):
    command.main(assignment="backprop", folder=_class_with_tricks(tmp_path), out=tmp_path / "out")
    page = (tmp_path / "out" / "similarity" / "backprop" / "pair-001.html").read_text(encoding="utf-8")
    seen = in_chromium(page, PAGE_FIGURES + """
      const side = s => [...document.querySelectorAll('#side-' + s + ' mark.m')];
      const colours = s => Object.fromEntries(side(s).map(
          m => [m.dataset.match, getComputedStyle(m).backgroundColor]));
      out.a = colours('a'); out.b = colours('b');
      out.marks = side('a').length + side('b').length;
      out.hidden = document.querySelectorAll('.hidden-char').length;
      out.scripts = document.scripts.length;
      out.score = document.getElementById('score').dataset.score;
      out.wide = document.querySelector('#side-a pre').getBoundingClientRect().width;""",
                       tmp_path, width=1400)
    assert seen["a"] and seen["a"] == seen["b"], seen  # each match, in the same colour, both sides
    assert len(set(seen["a"].values())) > 1 and seen["marks"] >= 2 * len(seen["a"]), seen
    assert seen["hidden"] >= 4 and seen["scripts"] == 1, seen  # only the probe's script runs
    assert float(seen["score"]) >= THRESHOLD and seen["page"] <= seen["view"], seen
    assert seen["wide"] > 400, seen  # two columns side by side, not squeezed


def test_the_dashboard_section_links_the_top_pairs(tmp_path: Path):
    assert section(tmp_path / "grades") is None
    command.main(assignment="backprop", folder=_class_with_tricks(tmp_path), out=tmp_path / "grades")
    html = section(tmp_path / "grades")
    assert html is not None and 'href="similarity/backprop/pair-001.html"' in html
    assert (tmp_path / "grades" / "similarity" / "backprop" / "pair-001.html").is_file()
    assert "\u202e" not in html and 'data-flagged="1"' in html
    assert section(tmp_path / "grades", "losses") is None


def test_the_class_dashboard_shows_the_similar_pairs(tmp_path: Path):
    """A dashboard made before the check gets the section when the check runs; `autograder
    report` and batch keep it (the CLI hands the section to the page)."""
    from autograder.batch.gradebook import Gradebook
    from autograder.batch.jobs import invalid
    from autograder.cli import dashboard_extras
    from autograder.report import dashboard

    grades = tmp_path / "grades"
    book = Gradebook(grades)
    book.record(invalid(assignment="backprop", student="zed", submission="zed.ipynb", key="k",
                        error="zed.ipynb: not a notebook"))
    dashboard.build(grades, book.everything())
    assert 'id="similarity"' not in (grades / "index.html").read_text()
    command.main(assignment="backprop", folder=_class_with_tricks(tmp_path), out=grades)
    assert 'id="similarity"' in (grades / "index.html").read_text()
    dashboard.build(grades, book.everything(), extras=dashboard_extras(grades))
    book.close()
    assert 'href="similarity/backprop/pair-001.html"' in (grades / "index.html").read_text()


# --- the command -------------------------------------------------------------------------------

def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_help():
    done = run("similarity", "--help")
    assert done.returncode == 0
    for words in ("ASSIGNMENT FOLDER", "--out", "--threshold", "--common", "starter"):
        assert words in done.stdout
    assert "similarity" in run("--help").stdout


@pytest.mark.parametrize("args, says", [
    (["similarity", "losses", "{tmp}/nope"], "{tmp}/nope: no such folder"),
    (["similarity", "no_such", "{tmp}"], "unknown assignment 'no_such'"),
    (["similarity", "losses", "{tmp}/file.ipynb"], "{tmp}/file.ipynb: not a folder"),
    (["similarity", "losses", "{tmp}/empty"], "{tmp}/empty: holds no submissions of losses"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], says: str):
    (tmp_path / "file.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    done = run(*(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("autograder: error: " + says.format(tmp=tmp_path)), done.stderr


def test_unreadable_notebooks_are_skipped_not_fatal(tmp_path: Path):
    solutions = corpus.independent("losses")
    folder = corpus.write(tmp_path / "class", "losses",
                          {"a": solutions["own-a"], "b": corpus.commented(solutions["own-a"])})
    (folder / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (folder / "latin1.py").write_bytes(b"x = '\xe9'\n")
    (folder / "other.ipynb").write_text(corpus.as_notebook(solutions["reference"], "backprop"))
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    done = run("similarity", "losses", "class", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr + done.stdout, done
    for line in ("  broken.ipynb: not a notebook (invalid JSON at line 1)",
                 "  latin1.py: not UTF-8 text (byte 5)",
                 "  other.ipynb: this notebook is the 'backprop' assignment, not 'losses'",
                 "  notes.txt: not a submission"):
        assert any(out.startswith(line) for out in done.stdout.splitlines()), done.stdout
    assert "  1.00  a ~ b" in done.stdout and str(tmp_path) not in done.stdout
