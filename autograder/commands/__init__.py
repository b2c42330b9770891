"""The ``autograder`` command's verbs beyond the core ones (``cli.py`` adds them to its group):
``exporting`` (``autograder export ...``), ``serving`` (``serve``, ``tokens``, ``checks``), and
``common``, what every command shares (one-line errors, a status line)."""
