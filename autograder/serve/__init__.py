"""The grading service, ``autograder serve``: students' ``check()`` sends a saved notebook over
HTTP and gets its grade, without the instructor's kit on their machine.

A thin layer over the grading the CLI already has (``batch.jobs``, ``batch.pool``'s graders,
the warm template and the worker's sandbox); it owns no grading logic. The pieces:

- ``settings``: the service's options, one typed object with help text (the CLI's options);
- ``limits``: the per-student rate (``30/hour``) and sizes (``10MB``), parsed and applied;
- ``tokens``: who is asking: one random token per student of a roster, kept as a hash;
- ``records``: every check in the gradebook database (``checks``), pending until graded;
- ``queue``: the graders (a ``batch.pool.Pool``, or a Dask cluster) and the checks they run;
- ``service``: one check from upload to answer, and grading again what a restart interrupted;
- ``app``: the HTTP routes (FastAPI);
- ``command``: the ``main`` functions of ``autograder serve``, ``tokens`` and ``checks``.
"""
