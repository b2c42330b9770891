"""The instructor's kit of "Neural Networks with TensorFlow": masters, hidden suites, the grader.

Students never install this package: what their notebooks import is :mod:`coursekit` (the
student bundle, ``autograder export student``), and they check their work with the course's
grading service (``autograder serve``).
"""

from __future__ import annotations

__version__ = "0.1.0"
