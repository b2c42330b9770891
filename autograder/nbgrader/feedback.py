"""The feedback page nbgrader writes for each student, made readable.

nbgrader's own feedback template lists every autograded cell as "Test cell" and shows a failure
as one unwrapped line of a grey error box, cut off at the right edge. The kit's template
(``templates/autograder_feedback``, on nbconvert's classic one, as nbgrader's is) keeps nbgrader's
page (its score, its panels, its Bootstrap style) and names every test in the summary with
its points, marks passed and failed tests apart (a failed one in red, with its reason in full),
and wraps every error and output so nothing needs sideways scrolling. It reads the verdict
``GradeWithHiddenSuites`` left in each test cell's ``metadata.autograder``.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "autograder_feedback"
TEMPLATES = Path(__file__).parent / "templates"


def template_dirs() -> list[str]:
    """Where nbconvert finds the kit's template (``c.HTMLExporter.extra_template_basedirs``)."""
    return [str(TEMPLATES)]
