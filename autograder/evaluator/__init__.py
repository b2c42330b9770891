"""The trusted evaluator: TensorFlow graphs a submission built, run where no student Python runs.

A student's TensorFlow function is *called* in the worker (it is Python, and the worker is the only
place student Python runs), but what it built is a graph, which is data: the worker sends its
``GraphDef`` and the names of the tensors it returned, never a value. The graph is checked against
an allow-list of operations (``ops``) and run by the *evaluator*, a process forked from the warm
template and sandboxed exactly like a worker, which is given no submission and never runs student
code: only ``import_graph_def`` and ``Session.run`` (``engine``). The values the grader scores
(logits, losses, accuracies, the weights after training) come from it, on inputs the worker never
saw. A ``train`` or ``run_counter`` gets a session (``autograder.worker.remote``) whose every
``run`` goes through the grader (which keeps the record of what was run) to the evaluator, which
holds the graph and the variables: the student's Python still decides what to run and when.

``handle`` is the grader's side: it starts the evaluator and asks it.
"""
