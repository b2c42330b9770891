"""Helpers of the gradient_descent suite (the grader side; never shown to the worker)."""
