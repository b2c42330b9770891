"""Trusted drivers that run inside the worker around the student's functions.

A task plays the part of the notebook's given code (build the graph, open a session, train) so the
suite can ask for one result in one call. Tasks hold no expected values and never touch the MNIST
test labels; they are safe to run next to student code.
"""
