"""Grades into an LMS: ``autograder export canvas|moodle|csv``.

``grades.py`` reads a gradebook (the batch's or nbgrader's), ``roster.py`` the LMS's list of
students, ``join.py`` matches the two and decides what each status exports, ``canvas.py``,
``moodle.py`` and ``plain.py`` lay the result out as each import expects, ``command.py`` writes
it. The room reads ``autograder.batch`` (its gradebook and statuses) and, for nbgrader's
flagged notebooks, ``autograder.nbgrader.verdicts``; nothing imports it but the CLI.
"""
