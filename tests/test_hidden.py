"""Hidden inputs: drawn per submission from the course secret, which never reaches the worker."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from util import ROOT, grade_text, solution_source

from autograder.batch.fingerprint import content_key
from autograder.grading import hidden
from autograder.grading.hidden import Hidden, SecretError, course_secret, submission_key


def test_the_secret_comes_from_the_environment_or_a_file_made_once(monkeypatch, tmp_path: Path):
    monkeypatch.delenv(hidden.ENV_SECRET, raising=False)
    path = tmp_path / "config" / "secret"
    monkeypatch.setenv(hidden.ENV_SECRET_FILE, str(path))
    first = course_secret()
    assert path.is_file() and len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert course_secret() == first  # made once, then read
    monkeypatch.setenv(hidden.ENV_SECRET, "from the environment")
    assert course_secret() == b"from the environment"


def test_a_secret_that_cannot_be_read_is_one_line_naming_the_file(monkeypatch, tmp_path: Path):
    monkeypatch.delenv(hidden.ENV_SECRET, raising=False)
    monkeypatch.setenv(hidden.ENV_SECRET_FILE, str(tmp_path))  # a directory
    with pytest.raises(SecretError, match=f"^{tmp_path}: the course secret cannot be read"):
        course_secret()
    env = {k: v for k, v in os.environ.items() if k != hidden.ENV_SECRET}
    env[hidden.ENV_SECRET_FILE] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "losses",
                           str(ROOT / "solutions" / "losses" / "losses.ipynb")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(tmp_path) in done.stderr, done.stderr


def test_inputs_depend_on_the_secret_the_code_and_the_purpose_only():
    cells = [{"index": 0, "source": "import numpy as np\n\n# a comment\ndef f(x):\n    return x"}]
    same_code = [{"index": 3, "source": "# %%\nimport numpy as np\ndef f(x):\n\n    return x  "},
                 {"index": 4, "source": "# only a comment"}]
    other_code = [{"index": 0, "source": "import numpy as np\ndef f(x):\n    return x + 0"}]
    key = submission_key(cells)
    assert submission_key(same_code) == key != submission_key(other_code)
    # a line of a string that begins with "#" is code: two behaviours, two keys
    quoted = [{"index": 0, "source": 'text = """\n# one\n"""\nprint(text)'}]
    other_quote = [{"index": 0, "source": 'text = """\n# two\n"""\nprint(text)'}]
    assert submission_key(quoted) != submission_key(other_quote)
    assert submission_key([{"index": 0, "source": "x = 1  # a\n"}]) == \
        submission_key([{"index": 0, "source": "x = 1  # b"}])

    def draw(secret: bytes, submission: str, purpose: str) -> float:
        return float(Hidden(secret=secret, assignment="losses", submission=submission)
                     .rng(purpose).random())

    first = draw(b"s", key, "test_a")
    assert draw(b"s", key, "test_a") == first
    assert len({first, draw(b"t", key, "test_a"), draw(b"s", submission_key(other_code), "test_a"),
                draw(b"s", key, "test_b")}) == 4


def test_a_new_secret_grades_the_class_again():
    assert content_key(assignment="losses", data=b"x", secret="one") != \
        content_key(assignment="losses", data=b"x", secret="two")


STEAL = '''
import os
found = [os.environ.get("AUTOGRADER_SECRET", "no variable")]
try:
    found.append(open({path!r}).read())
except OSError as exc:
    found.append(type(exc).__name__)
print("stolen:", found)
'''


def test_the_worker_sees_neither_the_secret_nor_its_file(monkeypatch, tmp_path: Path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("the course secret 1234\n")
    secret_file.chmod(0o600)
    monkeypatch.delenv(hidden.ENV_SECRET, raising=False)
    monkeypatch.setenv(hidden.ENV_SECRET_FILE, str(secret_file))
    source = solution_source("losses") + "\n# %%\n" + STEAL.format(path=str(secret_file))
    result = grade_text(tmp_path, "losses", source, select=["squared_loss"])
    assert "stolen:" in result.output
    everything = result.output + "".join(t.output for t in result.tests) + "".join(result.notes)
    assert "the course secret 1234" not in everything
    assert result.score == result.max_score
