"""`autograder export canvas|moodle|csv`: grades into an LMS in the formats the LMSs document.

No grading runs here: a batch gradebook is made from ``Outcome`` rows with ``Gradebook.record``,
an nbgrader one with nbgrader's own API, and rosters are written as Canvas and Moodle export them.
The files are read back as an importer would (``csv``) and checked cell by cell.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from util import ROOT

from autograder import cli
from autograder.batch.gradebook import Gradebook
from autograder.batch.jobs import FAILED, GRADED, INVALID, Outcome
from autograder.lms import command, roster
from autograder.lms.grades import LmsError
from autograder.text import for_csv_cell, write_csv

A, B = "mlp_mnist", "losses"
HYPERLINK = '=HYPERLINK("http://x","y")'
CAROL_ERROR = "/class/carol.ipynb: not a notebook (invalid JSON at line 1)"
DAVE_ERROR = "the grader failed: RuntimeError: the machine ran out of memory"
CLASS = {  # student: {assignment: (status, score, error)}
    "alice": {A: (GRADED, 14.0, ""), B: (GRADED, 20.0, "")},
    "bob": {A: (GRADED, 20.0, "")},  # no grade of losses
    "carol": {A: (INVALID, 0.0, CAROL_ERROR), B: (GRADED, 7.5, "")},
    "dave": {A: (FAILED, 0.0, DAVE_ERROR), B: (GRADED, 12.0, "")},
    "erin": {A: (GRADED, 9.0, "")},  # on no roster row
    HYPERLINK: {A: (GRADED, 3.0, ""), B: (GRADED, 1.0, "")},
    "+1": {A: (GRADED, 4.0, ""), B: (GRADED, 2.0, "")},
    "@SUM(1)": {A: (GRADED, 5.0, ""), B: (GRADED, 3.0, "")},
}
CANVAS_ROSTER = [  # Canvas's "Export Entire Gradebook", as it comes
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mlp_mnist (4567)",
     "Lab 2: Loss functions (4568)", "Assignments Current Score", "Current Score"],
    ["    Points Possible", "", "", "", "", "20", "25", "(read only)", "(read only)"],
    ["", "", "", "", "", "Manual Posting", "", "", ""],
    ["Smith, Alice", "101", "S101", "alice", "Sec A", "", "", "", ""],
    ["Jones, Bob", "102", "S102", "BOB", "Sec A", "", "", "", ""],
    ["Carter, Carol", "103", "S103", "carol", "Sec B", "", "", "", ""],
    ["Dean, Dave", "104", "S104", "dave", "Sec B", "", "", "", ""],
    ["Fox, Frank", "105", "S105", "frank", "Sec B", "", "", "", ""],  # no grade at all
    [HYPERLINK, "106", "", HYPERLINK, "Sec B", "", "", "", ""],
    ["One, Plus", "107", "", "+1", "Sec B", "", "", "", ""],
    ["Sum, At", "108", "", "@SUM(1)", "Sec B", "", "", "", ""],
    ["Student, Test", "109", "", "", "", "", "", "", ""],
]


def outcome(assignment: str, student: str, status: str, score: float, error: str) -> Outcome:
    return Outcome(assignment=assignment, student=student, submission=f"/class/{student}.ipynb",
                   key=f"key-{student}", status=status, score=score, max_score=20.0,
                   error=error, results={"score": score, "max_score": 20.0, "tests": []})


@pytest.fixture(scope="module")
def grades(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch's output folder whose gradebook holds CLASS."""
    folder = tmp_path_factory.mktemp("batch") / "grades"
    book = Gradebook(folder)
    try:
        for student, rows in CLASS.items():
            for assignment, (status, score, error) in rows.items():
                book.record(outcome(assignment, student, status, score, error))
    finally:
        book.close()
    return folder


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def export(tmp_path: Path, lms: str, **options) -> tuple[command.Summary, list[list[str]]]:
    summary = command.main(lms=lms, out=tmp_path / f"{lms}.csv", **options)
    return summary, read_rows(summary.out)


# --- Canvas -----------------------------------------------------------------------------------

@pytest.fixture()
def canvas_roster(tmp_path: Path) -> Path:
    return write_rows(tmp_path / "canvas-gradebook.csv", CANVAS_ROSTER)


def test_canvas_file_has_the_documented_columns_points_possible_and_roster_ids(
        grades: Path, canvas_roster: Path, tmp_path: Path):
    summary, rows = export(tmp_path, "canvas", gradebook=grades, roster=canvas_roster,
                           assignments=[A, B], columns={B: "Lab 2: Loss functions (4568)"})
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "mlp_mnist (4567)", "Lab 2: Loss functions (4568)"]
    # Points Possible: Canvas's own values for its assignments (the import changes none)
    assert rows[1] == ["Points Possible", "", "", "", "", "20", "25"]
    assert rows[2:] == [
        ["Smith, Alice", "101", "S101", "alice", "Sec A", "14", "20"],
        ["Jones, Bob", "102", "S102", "BOB", "Sec A", "20", ""],
        ["Carter, Carol", "103", "S103", "carol", "Sec B", "0", "7.5"],  # invalid: 0
        ["Dean, Dave", "104", "S104", "dave", "Sec B", "", "12"],  # failed: no grade
        ["'" + HYPERLINK, "106", "", "'" + HYPERLINK, "Sec B", "3", "1"],
        ["One, Plus", "107", "", "'+1", "Sec B", "4", "2"],
        ["Sum, At", "108", "", "'@SUM(1)", "Sec B", "5", "3"],
    ]  # frank has no grade, erin is on no row, Canvas's test student and posting rows are gone
    assert summary.exported == 7
    assert "mlp_mnist -> Canvas's column 'mlp_mnist (4567)'" in summary.notes
    assert any("worth 25 points, the kit grades out of 20" in n for n in summary.notes)


def test_canvas_numbers_stay_numbers_and_names_are_no_formulas(grades: Path, canvas_roster: Path,
                                                               tmp_path: Path):
    summary, _ = export(tmp_path, "canvas", gradebook=grades, roster=canvas_roster,
                        assignments=[A, B])
    text = summary.out.read_bytes().decode("utf-8")  # as written: CRLF line ends (RFC 4180)
    assert '\r\n"Smith, Alice",101,S101,alice,Sec A,14,20\r\n' in text
    assert "'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")" in text  # quoted as CSV, then neutralised
    for line in text.split("\r\n")[1:-1]:
        for cell in next(csv.reader([line])):
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), line
            assert not (cell.startswith("-") and cell != "-"), line


def test_canvas_names_a_new_column_by_the_assignment_without_a_match(grades: Path,
                                                                    canvas_roster: Path,
                                                                    tmp_path: Path):
    summary, rows = export(tmp_path, "canvas", gradebook=grades, roster=canvas_roster,
                           assignments=[B])
    assert rows[0][5:] == ["losses"] and rows[1][5:] == ["20"]  # the kit's points
    assert any("column 'losses': Canvas uses its assignment of that title, or creates one worth "
               "20 points" in n for n in summary.notes)
    summary, rows = export(tmp_path, "canvas", gradebook=grades, roster=canvas_roster,
                           assignments=[B], columns={B: "Losses (9999)"})
    assert rows[0][5:] == ["Losses (9999)"] and rows[1][5:] == ["20"]
    assert "losses -> column 'Losses (9999)': Canvas's assignment 9999 (not in the roster: its " \
           "points are not known here)" in summary.notes


def test_canvas_lines_for_missing_extra_invalid_and_failed_on_stderr(grades: Path,
                                                                     canvas_roster: Path,
                                                                     tmp_path: Path):
    out = tmp_path / "canvas.csv"
    done = subprocess.run([sys.executable, "-m", "autograder", "export", "canvas", str(grades),
                           "--roster", str(canvas_roster), "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert f"invalid: carol, mlp_mnist: exported as 0 points: {CAROL_ERROR}" in lines
    assert ("failed: dave, mlp_mnist: not exported, needs a regrade (run the same "
            f"`autograder batch` again): {DAVE_ERROR}") in lines
    assert ("not on the roster: erin has a grade of mlp_mnist but is in no row of "
            "canvas-gradebook.csv (column 'SIS Login ID'): not exported") in lines
    assert ("no grade: frank (Fox, Frank, canvas-gradebook.csv line 8) is on the roster but has "
            "no grade of losses, mlp_mnist") in lines
    assert ("no grade: BOB (Jones, Bob, canvas-gradebook.csv line 5) is on the roster but has "
            "no grade of losses") in lines
    assert len(lines) == 5 and "Traceback" not in done.stderr
    summary = (tmp_path / "canvas.summary.txt").read_text(encoding="utf-8")
    assert all(f"  {line}\n" in summary for line in lines)
    assert f"wrote {out} for Canvas: grades of losses, mlp_mnist for 7 students, from " \
           in done.stdout
    assert "kit names found in column 'SIS Login ID' of canvas-gradebook.csv: 7 of 8" in done.stdout


def test_canvas_with_a_plain_roster_of_login_ids(grades: Path, tmp_path: Path):
    plain = write_rows(tmp_path / "roster.csv", [["student", "SIS Login ID"], ["alice", "a1"],
                                                  ["erin", "e5"], ["@SUM(1)", "@SUM(1)"]])
    summary, rows = export(tmp_path, "canvas", gradebook=grades, roster=plain, assignments=[A])
    assert rows[2:] == [["alice", "", "", "a1", "", "14"], ["erin", "", "", "e5", "", "9"]]
    assert summary.joined.match.column == "student"
    assert ("not exported: @SUM(1) (roster.csv line 4) is known to the LMS only as '@SUM(1)', "
            "which a spreadsheet would run as a formula; the file would hold it as text the LMS "
            "does not match: enter this grade by hand") in summary.problems


# --- Moodle -----------------------------------------------------------------------------------

MOODLE_ROSTER = [  # Moodle's "Export to plain text file", semicolons chosen as separator
    ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
     "Assignment: mlp_mnist (Real)", "Course total (Real)", "Last downloaded from this course"],
    ["Alice", "Smith", "S101", "", "", "alice@uni.example", "-", "-", "1700000000"],
    ["Bob", "Jones", "S102", "", "", "Bob@uni.example", "-", "-", "1700000000"],
    ["Carol", "Carter", "S103", "", "", "carol@uni.example", "-", "-", "1700000000"],
    ["Dave", "Dean", "S104", "", "", "dave@uni.example", "-", "-", "1700000000"],
    ["Frank", "Fox", "", "", "", "frank@uni.example", "-", "-", "1700000000"],
]


def test_moodle_file_identifies_by_email_with_a_column_per_grade_item(grades: Path,
                                                                     tmp_path: Path):
    moodle = write_rows(tmp_path / "moodle-grades.csv", MOODLE_ROSTER, delimiter=";")
    summary, rows = export(tmp_path, "moodle", gradebook=grades, roster=moodle)
    assert rows == [  # the course's order: losses comes before mlp_mnist
        ["Email address", "losses", "Assignment: mlp_mnist"],
        ["alice@uni.example", "20", "14"],
        ["Bob@uni.example", "-", "20"],  # Moodle's "no grade"
        ["carol@uni.example", "7.5", "0"],
        ["dave@uni.example", "12", "-"],  # failed: not exported
    ]
    assert summary.joined.match.column == "Email address"  # local parts are the kit's names
    assert "on import: Identify user by, Map from 'Email address' to Email address" in summary.notes
    assert {p.split(":")[0] for p in summary.problems} == {"invalid", "failed", "not on the roster",
                                                          "no grade"}


def test_moodle_feedback_columns_follow_their_grades(grades: Path, tmp_path: Path):
    moodle = write_rows(tmp_path / "moodle-grades.csv", MOODLE_ROSTER)
    _, rows = export(tmp_path, "moodle", gradebook=grades, roster=moodle, assignments=[A],
                     feedback=True, id_column="ID number")
    assert rows[0] == ["ID number", "Assignment: mlp_mnist", "Assignment: mlp_mnist (Feedback)"]
    assert rows[1] == ["S101", "14", "Autograder: 14 / 20 points."]
    assert rows[3] == ["S103", "0", "Autograder: 0 points: the submission could not be graded: "
                                    "carol.ipynb: not a notebook (invalid JSON at line 1)"]
    assert len(rows) == 4  # dave's only grade failed: no row (Moodle would clear his grade)


def test_moodle_leaves_out_a_row_whose_identifier_begins_like_a_formula(grades: Path,
                                                                        tmp_path: Path):
    """Moodle stops the whole import at a row whose user it cannot find."""
    moodle = write_rows(tmp_path / "participants.csv", [
        ["Username", "Email address"], ["alice", "alice@uni.example"], ["+1", "+1@uni.example"]])
    summary, rows = export(tmp_path, "moodle", gradebook=grades, roster=moodle, assignments=[A])
    assert summary.joined.match.column == "Username"
    assert rows == [["Email address", "mlp_mnist"], ["alice@uni.example", "14"]]
    assert any(p.startswith("not exported: +1 (participants.csv line 3) is known to the LMS "
                            "only as '+1@uni.example'") for p in summary.problems)


# --- the plain CSV ----------------------------------------------------------------------------

def test_plain_csv_without_a_roster_lists_every_student(grades: Path, tmp_path: Path):
    _, rows = export(tmp_path, "csv", gradebook=grades, assignments=[A, B])
    assert rows[0] == ["student", "lms_id", "mlp_mnist score", "mlp_mnist max", "mlp_mnist status",
                       "mlp_mnist note", "losses score", "losses max", "losses status",
                       "losses note"]
    table = {r[0]: r[1:] for r in rows[1:]}
    assert sorted(table) == sorted(for_csv_cell(s) for s in CLASS)
    assert table["dave"] == ["", "", "20", "failed", DAVE_ERROR, "12", "20", "graded", ""]
    assert table["bob"] == ["", "20", "20", "graded", "", "", "20", "missing", ""]
    assert table["'+1"][:2] == ["", "4"]


def test_plain_csv_with_a_roster_has_its_ids_and_the_students_not_on_it(grades: Path,
                                                                       canvas_roster: Path,
                                                                       tmp_path: Path):
    _, rows = export(tmp_path, "csv", gradebook=grades, roster=canvas_roster, assignments=[A])
    assert [r[:4] for r in rows[1:]] == [
        ["alice", "101", "14", "20"], ["bob", "102", "20", "20"], ["carol", "103", "0", "20"],
        ["dave", "104", "", "20"], ["", "105", "", "20"], ["'" + HYPERLINK, "106", "3", "20"],
        ["'+1", "107", "4", "20"], ["'@SUM(1)", "108", "5", "20"], ["erin", "", "9", "20"]]
    assert rows[5][4] == "missing"


# --- nbgrader's gradebook ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An nbgrader course folder: alice graded (late), bob flagged by the hidden suite, carol's
    autograde failed, eve graded, dave never submitted."""
    from nbgrader.api import Gradebook as NbGradebook

    folder = tmp_path_factory.mktemp("course")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    with pytest.MonkeyPatch.context() as env, warnings.catch_warnings():
        env.setenv("PATH", path)  # a new gradebook runs `alembic`
        warnings.simplefilter("ignore")  # SQLAlchemy's, about nbgrader's models
        with NbGradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id="nn-tf") as gb:
            gb.add_assignment(A)
            gb.add_notebook(A, A)
            gb.add_grade_cell("check-a", A, A, max_score=12, cell_type="code")
            gb.add_grade_cell("check-b", A, A, max_score=8, cell_type="code")
            for student in ("alice", "bob", "carol", "dave", "eve"):
                gb.add_student(student, email=f"{student}@uni.example")
            scores = {"alice": (12, 2), "bob": (0, 0), "carol": (0, 0), "eve": (12, 8)}
            for student, (a, b) in scores.items():
                gb.add_submission(A, student)
                for cell, value in (("check-a", a), ("check-b", b)):
                    grade = gb.find_grade(cell, A, A, student)
                    grade.auto_score = value
                    grade.needs_manual_grade = student == "bob"
            gb.find_submission_notebook(A, A, "alice").late_submission_penalty = 2.0
            gb.db.commit()
    for student in ("alice", "bob", "eve"):  # carol's autograde failed: no notebook
        nb = nbformat.v4.new_notebook()
        if student == "bob":
            nb.metadata["autograder"] = {"graded": {
                "assignment": A, "problem": "this notebook is the 'losses' assignment, not "
                                            "'mlp_mnist'"}}
        target = folder / "autograded" / student / A / f"{A}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    return folder


def test_nbgrader_gradebook_is_read_with_statuses_and_never_written(course: Path,
                                                                    tmp_path: Path):
    db = course / "gradebook.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    plain = write_rows(tmp_path / "roster.csv", [["student", "email"],
                                                  *([s, f"{s}@uni.example"] for s in
                                                    ("alice", "bob", "carol", "dave", "eve"))])
    summary, rows = export(tmp_path, "moodle", gradebook=course, roster=plain)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert summary.grades.kind == "nbgrader" and summary.grades.points == {A: 20.0}
    assert rows == [["email", "mlp_mnist"], ["alice@uni.example", "12"],  # 14 less 2 late
                    ["eve@uni.example", "20"]]
    problems = "\n".join(summary.problems)
    assert ("failed: bob, mlp_mnist: not exported, needs a regrade (grade it in nbgrader's "
            "Formgrader, then export again): mlp_mnist.ipynb: this notebook is the 'losses' "
            "assignment, not 'mlp_mnist'") in problems
    assert "failed: carol, mlp_mnist: not exported, needs a regrade (grade it in nbgrader's " \
           "Formgrader, then export again): mlp_mnist.ipynb: nbgrader autograde could not " \
           "process it (see its log)" in problems
    assert "no grade: dave (roster.csv line 5) is on the roster but has no grade of " \
           "mlp_mnist" in problems


# --- the shared helper ------------------------------------------------------------------------

@pytest.mark.parametrize("value, safe", [
    (HYPERLINK, "'" + HYPERLINK), ("+1", "'+1"), ("@SUM(1)", "'@SUM(1)"), ("-1", "'-1"),
    ("\tx", "'\tx"), ("\r=x", "'=x"), ("\0=x", "'=x"), ("alice", "alice"), ("", ""),
    (None, ""), ("-", "-"),
    (14, 14), (-1.5, -1.5), (True, "True"), ("a=b", "a=b"),
])
def test_for_csv_cell_neutralises_formulas_and_keeps_numbers(value, safe):
    assert for_csv_cell(value) == safe


def test_write_csv_neutralises_every_cell(tmp_path: Path):
    path = write_csv(tmp_path / "x.csv", [["=1+1", 2, "-"], ["@a", 3.5, "ok"]])
    assert path.read_bytes() == b"'=1+1,2,-\r\n'@a,3.5,ok\r\n"


# --- the roster -------------------------------------------------------------------------------

def test_roster_kinds_delimiters_and_byte_order_marks(tmp_path: Path):
    moodle = tmp_path / "m.csv"
    moodle.write_text("\ufeffFirst name\tLast name\tEmail address\nA\tB\ta@x.example\n",
                      encoding="utf-8")
    read = roster.read(moodle)
    assert (read.kind, read.columns, read.people[0].get("Email address")) == (
        roster.MOODLE, ["First name", "Last name", "Email address"], "a@x.example")
    canvas = roster.read(write_rows(tmp_path / "c.csv", CANVAS_ROSTER))
    assert canvas.kind == roster.CANVAS and canvas.points_possible["mlp_mnist (4567)"] == "20"
    assert [p.get("SIS Login ID") for p in canvas.people][-1] == "@SUM(1)"  # no test student


def test_an_email_local_part_shared_by_two_rows_matches_neither(tmp_path: Path):
    two = roster.read(write_rows(tmp_path / "r.csv", [["Email address"], ["amy@a.example"],
                                                      ["amy@b.example"], ["Bo@b.example"]]))
    found = roster.match(two, ["amy", "bo", "amy@a.example"])
    assert set(found.people) == {"bo", "amy@a.example"} and set(found.ambiguous) == {"amy"}


# --- bad input and the command line -----------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["csv", "{tmp}/nope"], "{tmp}/nope: no such file or directory"),
    (["csv", "{tmp}"], "{tmp}: holds neither gradebook.sqlite (made by `autograder batch`) nor "
                       "gradebook.db (nbgrader's)"),
    (["csv", "{tmp}/notes.txt"], "{tmp}/notes.txt: not a gradebook (file is not a database)"),
    (["csv", "{tmp}/odd"], "{tmp}/odd/gradebook.sqlite: not a gradebook of `autograder batch` "
                           "or nbgrader"),
    (["csv", "{grades}", "no_such"], "{grades}/gradebook.sqlite: holds no grades of 'no_such' "
                                     "(it holds losses, mlp_mnist)"),
    (["canvas", "{grades}", "--roster", "{tmp}/missing.csv"],
     "{tmp}/missing.csv: no such file or directory"),
    (["canvas", "{grades}", "--roster", "{tmp}/emails.csv"],
     "{tmp}/emails.csv: has none of the columns Canvas finds students by (ID, SIS User ID, SIS "
     "Login ID); its columns: student, email"),
    (["moodle", "{grades}", "--roster", "{tmp}/emails.csv", "--name-column", "login"],
     "{tmp}/emails.csv: has no column 'login' (given as --name-column) (its columns: student, "
     "email)"),
    (["moodle", "{grades}", "--roster", "{tmp}/emails.csv", "--id-column", "Username"],
     "{tmp}/emails.csv: has no column 'Username' (given as --id-column) (its columns: student, "
     "email)"),
    (["moodle", "{grades}", "--roster", "{tmp}/emails.csv", "-o", "{tmp}/emails.csv"],
     "{tmp}/emails.csv: is the roster: write the export to another file (-o)"),
    (["canvas", "{grades}", "--roster", "{tmp}/emails.csv", "--column", "losses"],
     "--column takes ASSIGNMENT=HEADER, e.g. mlp_mnist='Lab 5 (4567)'"),
])
def test_bad_input_is_one_line_naming_the_file_and_exit_status_2(grades: Path, tmp_path: Path,
                                                                 args, message):
    (tmp_path / "notes.txt").write_text("alice and bob worked together\n", encoding="utf-8")
    (tmp_path / "odd").mkdir()
    with contextlib.closing(sqlite3.connect(tmp_path / "odd" / "gradebook.sqlite")) as odd:
        odd.execute("CREATE TABLE marks (who TEXT)")
    write_rows(tmp_path / "emails.csv", [["student", "email"], ["alice", "alice@uni.example"]])
    fill = {"tmp": tmp_path, "grades": grades}
    result = CliRunner().invoke(cli.main, ["export", *(a.format(**fill) for a in args)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"autograder: error: {message.format(**fill)}\n"
    assert not (tmp_path / "canvas.csv").exists() and not (tmp_path / "moodle.csv").exists()
    assert (tmp_path / "emails.csv").read_text(encoding="utf-8").startswith("student,email")
    with contextlib.closing(sqlite3.connect(tmp_path / "odd" / "gradebook.sqlite")) as odd:
        assert [r[0] for r in odd.execute("SELECT name FROM sqlite_master")] == ["marks"]


def test_the_api_raises_one_line_errors_too(grades: Path, tmp_path: Path):
    with pytest.raises(LmsError, match="a Canvas file needs a roster"):
        command.main(lms="canvas", gradebook=grades, out=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_help_of_each_export():
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["export", "--help"])
    assert listed.exit_code == 0
    assert all(name in listed.output for name in ("canvas", "moodle", "csv", "gradescope"))
    for name, option in (("canvas", "--column"), ("moodle", "--feedback"), ("csv", "--id-column")):
        shown = runner.invoke(cli.main, ["export", name, "--help"])
        assert shown.exit_code == 0 and "--roster" in shown.output and option in shown.output
    done = subprocess.run([sys.executable, "-m", "autograder", "export", "moodle", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--name-column" in done.stdout

