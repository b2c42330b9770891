"""Where a submission is read: a notebook or a .py file becomes the code cells to run."""
