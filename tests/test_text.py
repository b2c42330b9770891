"""autograder/text.py: text from a submission is inert on a terminal, in HTML and in a CSV cell."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from autograder.text import for_csv_cell, for_html, for_terminal, inert

RED = "\x1b[31mmallory\x1b[0m"
LINK = "\x1b]8;;http://example.invalid/\x07click\x1b]8;;\x1b\\ here"
BIDI = "test \u202edeliaf\u202c ok"  # shows as "test ok failed" where bidi is honoured


@pytest.mark.parametrize("raw, shown", [
    (RED, "mallory"),
    (LINK, "click here"),
    ("\x9b31mred", "red"),  # the 8-bit CSI
    ("\x1bcreset", "reset"),  # a full terminal reset
    ("\x1b(0box", "box"),  # a switch to line-drawing characters
    ("ok\rFAILED", "okFAILED"),  # a carriage return would overwrite the line
    ("a\bb\x07\x00\x7f", "ab"),
    ("\x1b]0;title", ""),  # an unterminated OSC takes no more than its own payload
])
def test_escape_sequences_and_control_characters_are_removed(raw: str, shown: str):
    assert for_terminal(raw) == shown
    assert for_html(raw) == shown


@pytest.mark.parametrize("char", [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
                                  "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e",
                                  "\u200f", "\u061c", "\u2028", "\u2029"])
def test_bidi_and_zero_width_characters_are_shown_by_their_code_point(char: str):
    marker = f"<U+{ord(char):04X}>"
    assert for_terminal(f"a{char}b") == f"a{marker}b"
    assert for_html(f"a{char}b") == f"a&lt;U+{ord(char):04X}&gt;b"
    assert char not in for_csv_cell(f"a{char}b")


def test_a_reordered_word_cannot_pass_for_another():
    assert for_terminal(BIDI) == "test <U+202E>deliaf<U+202C> ok"


def test_newlines_stay_in_text_and_become_spaces_on_one_line():
    assert for_terminal("line 1\r\nline 2\tend") == "line 1\nline 2\tend"
    assert for_terminal("alice\n[2/2] bob: 20 / 20", one_line=True) == "alice [2/2] bob: 20 / 20"


def test_a_file_name_that_is_not_utf8_is_shown_not_raised():
    name = b"bad\xff.py".decode("utf-8", "surrogateescape")
    assert for_terminal(name) == "bad<U+DCFF>.py"
    for_html(name).encode("utf-8")  # a lone surrogate would raise here


def test_html_is_escaped_in_text_and_attributes():
    assert for_html('<img src=x onerror="a">&') == "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;"


def test_plain_text_is_unchanged():
    text = "build_loss: the mean softmax cross-entropy (Ünïcode, 日本語, عربي) is 3.5e-2"
    assert inert(text) == for_terminal(text) == text


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://example.invalid","ok")', "+1+2", "-2+3+cmd",
                                  "@SUM(A1)", "\t=1", " =1", "\uff1d1", "=",
                                  "\x1b[0m=1"])
def test_a_csv_cell_cannot_start_a_formula(cell: str):
    safe = for_csv_cell(cell)
    assert safe.startswith("'"), safe
    text = io.StringIO()
    csv.writer(text).writerow([safe])
    assert next(csv.reader(io.StringIO(text.getvalue())))[0][0] == "'"


@pytest.mark.parametrize("value, cell", [
    (3.5, 3.5), (-2, -2), (0, 0), (None, ""), ("-1.5", "'-1.5"), ("+4", "'+4"), ("1e-3", "1e-3"),
    ("alice", "alice"), ("a=b", "a=b"), ("line 1\nline 2", "line 1\nline 2"), ("-", "-"),
])
def test_numbers_stay_numbers_and_text_stays_text(value, cell):
    """Text that looks like a number is still text (a student named +4): it is prefixed."""
    assert for_csv_cell(value) == cell
    assert type(for_csv_cell(value)) is type(cell)


# --- where it is shown: each place that prints or writes text from a submission -------------

NAME = f"/class/{RED}\u202e.py"  # a file's name as a report prints it


def terminal() -> tuple[Any, io.StringIO]:
    from rich.console import Console

    printed = io.StringIO()
    return Console(file=printed, force_terminal=True, width=200, color_system=None), printed


def test_the_grade_report_prints_names_and_reasons_inert():
    from autograder.grading.report import print_report
    from autograder.grading.results import GradeResult, TestResult

    result = GradeResult(assignment="losses", submission=NAME, notes=[f"note {LINK}"], tests=[
        TestResult(id="t", name="softmax: rows sum to 1", max_score=2, output=BIDI)])
    console, printed = terminal()
    print_report(result, console=console)
    text = printed.getvalue()
    assert "\x1b" not in text and "\u202e" not in text, repr(text)
    assert "/class/mallory<U+202E>.py" in text and "<U+202E>deliaf<U+202C>" in text
    assert "note click here" in text


def test_the_batch_prints_one_inert_line_per_submission():
    from autograder.batch.jobs import Outcome
    from autograder.batch.progress import Display, describe

    outcome = Outcome(assignment="losses", student=f"{RED}\n[9/9] bob", submission=NAME, key="k",
                      status="invalid", error=f"{NAME}: not a notebook")
    assert describe(outcome) == ("mallory [9/9] bob: invalid: /class/mallory<U+202E>.py: "
                                 "not a notebook")
    for force in (False, True):  # a log file, and a terminal with a progress bar
        from rich.console import Console

        printed = io.StringIO()
        console = Console(file=printed, force_terminal=force, width=200)
        with Display(total=1, title="losses", console=console) as display:
            display.update(outcome, instant=True)
        assert "\x1b[31m" not in printed.getvalue() and "\u202e" not in printed.getvalue()
        assert "mallory [9/9] bob: invalid" in printed.getvalue()


def test_the_batch_summary_names_skipped_files_inert():
    from autograder.batch.command import Summary
    from autograder.batch.discover import Skipped

    summary = Summary(assignment="losses", skipped=[Skipped(f"{RED}.txt", Path(f"/c/{RED}.txt"),
                                                            "not a submission")])
    assert "\n  /c/mallory.txt: not a submission\n" in summary.describe()
    assert "\x1b" not in summary.describe()


def test_the_audit_report_prints_and_shows_what_a_mutant_said_inert():
    from autograder.audit.command import SURVIVED, Audit, Verdict
    from autograder.audit.report import print_report, render_html

    verdict = Verdict(id="m1", function="cost", operator="swap", change="a + b -> a - b",
                      diff="-a + b\n+a - b", verdict=SURVIVED, passed=["cost: values"],
                      elsewhere=[f"gradient: {BIDI} {RED}"])
    audit = Audit(assignment="gradient_descent", verdicts=[verdict], seconds=1.0, workers=1,
                  made=1)
    console, printed = terminal()
    print_report(audit, console=console)
    assert "\x1b" not in printed.getvalue() and "\u202e" not in printed.getvalue()
    assert "gradient: test <U+202E>deliaf<U+202C> ok mallory" in printed.getvalue()
    page = render_html(audit)
    assert "\u202e" not in page and "&lt;U+202E&gt;deliaf" in page and "\x1b" not in page


def test_nbgrader_export_writes_no_formula_and_logs_inert(tmp_path, caplog):
    """The plugin on a stand-in for nbgrader's gradebook (the real one takes seconds to make;
    the course tests export a real one)."""
    import logging
    from types import SimpleNamespace

    from nbgrader.api import MissingEntry

    from autograder.nbgrader.export import COLUMNS, CsvWithAttention

    formula = '=HYPERLINK("http://example.invalid","grade")'
    submitted = SimpleNamespace(timestamp="2025-01-01 10:00:00", score=3.0,
                                late_submission_penalty=None)

    def find_submission(assignment: str, student: str) -> SimpleNamespace:
        if student != formula:
            raise MissingEntry()
        return submitted

    gradebook = SimpleNamespace(
        assignments=[SimpleNamespace(name="losses", duedate=None, max_score=20.0)],
        students=[SimpleNamespace(id=formula, first_name="@SUM(1)", last_name=f"Ng{BIDI}",
                                  email="-x"),
                  SimpleNamespace(id="bob", first_name="Bob", last_name=None, email=None)],
        find_submission=find_submission)
    plugin = CsvWithAttention(to=str(tmp_path / "grades.csv"), log=logging.getLogger("export-test"))
    plugin.attention = lambda submission: f"=cmd|' /C calc'!A0 {RED}"
    with caplog.at_level(logging.WARNING, logger="export-test"):
        plugin.export(gradebook)
    with (tmp_path / "grades.csv").open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == list(COLUMNS)
    rows = {r[3]: dict(zip(COLUMNS, r, strict=True)) for r in table[1:]}
    mine = rows[f"'{formula}"]
    assert mine["first_name"] == "'@SUM(1)" and mine["email"] == "'-x"
    assert mine["last_name"] == "Ngtest <U+202E>deliaf<U+202C> ok"
    assert mine["needs_attention"] == "'=cmd|' /C calc'!A0 mallory"
    assert (mine["raw_score"], mine["score"], mine["max_score"]) == ("3.0", "3.0", "20.0")
    assert rows["bob"]["score"] == "0.0" and rows["bob"]["needs_attention"] == ""
    assert [r.getMessage() for r in caplog.records] == [
        f"needs attention: {formula}, losses: =cmd|' /C calc'!A0 mallory"]


def test_a_command_error_naming_a_file_is_printed_inert(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "losses",
                           str(tmp_path / f"{RED}.py")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == f"autograder: error: {tmp_path / 'mallory.py'}: no such file or directory\n"
