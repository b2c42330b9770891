"""What ``nbgrader autograde`` is handed: a file that is no notebook is named in one line.

nbgrader answers such a file with a traceback from deep inside its reader and leaves the
submission ungraded (the kit's export then marks it as needing attention). This pre-convert hook
says first, in the kit's loader's words, which file it is and what is wrong with it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from autograder.submission.load import SubmissionError, load

log = logging.getLogger("autograder.nbgrader")


def name_unreadable(assignment: str, notebooks: list[str], **_: Any) -> None:
    """nbgrader's ``pre_convert_hook``: log one line for each submitted file the kit cannot read.

    nbgrader passes the command line's ``--student`` (often ``*``), so the student is read from
    the path, ``submitted/<student>/<assignment>/<notebook>``.
    """
    for notebook in notebooks:
        path = Path(notebook)
        try:
            load(path, assignment)
        except SubmissionError as exc:
            log.error("autograder: %s's submission needs attention: %s", path.parent.parent.name,
                      exc)
