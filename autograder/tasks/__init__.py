"""Drivers that run inside the worker around the student's functions.

A task plays the part of the notebook's given code (build the graph, open a session, train) so the
suite can ask for one result in one call. Tasks hold no expected values, no reference answers and
never touch the MNIST test labels; they are safe to run next to student code. They are not
trusted either: the submission runs in the same process and could change them, so what a task
sends back is evidence the grader checks (graphs it parses itself, weights it replays, values it
computes), never a verdict (see docs/validity.md).
"""
