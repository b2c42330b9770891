"""Packages of the kit for other graders (Gradescope)."""
