"""Grade a whole class: ``autograder batch ASSIGNMENT FOLDER``.

The pieces, in the order a batch uses them:

- ``discover``: which submissions a folder holds (nbgrader's ``submitted/<student>/<assignment>/``
  or a flat folder of files);
- ``fingerprint``: the content hash that says whether a submission was graded already;
- ``jobs``: one submission as plain data, and grading it in a grader process;
- ``pool`` (this machine) and ``cluster`` (a Dask cluster): the grader processes that take jobs;
- ``gradebook``: the SQLite gradebook, ``results.json`` per submission and the CSV export;
- ``progress``: the progress bar and time-left estimate;
- ``command``: the ``main`` that ties them together.
"""
