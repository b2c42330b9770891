"""Grading: a submission's worker, the hidden suite run through pytest, and the results."""
