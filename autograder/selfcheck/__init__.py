"""A student checks their notebook from a cell of it: ``from autograder import check``."""
