"""The hidden pytest suites, one folder per assignment, shared by every grading path."""
