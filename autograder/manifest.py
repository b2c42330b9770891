"""The course manifest: the assignments in lecture order, with their point totals.

Totals are declared here for people to read and are checked against the points on the hidden
suites' tests by the kit's own tests, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    points: int
    # tests of the notebook's run as a whole, besides one test group per graded function; a
    # test's name begins with one of these or with the graded function it is about
    runs: tuple[str, ...] = ()
    # graded with TensorFlow (the notebook's code, the reference or the suite use it); a command
    # for one assignment without it does not import it
    tensorflow: bool = True
    # workers a grade runs at once: the second runs a long task of the suite (the lecture's
    # run) beside the other tests, on the same cells (``StudentProxy.twin``)
    workers: int = 1


ASSIGNMENTS: tuple[Assignment, ...] = (
    Assignment("tf_basics", "TensorFlow basics: constants, sessions, variables, placeholders", 20),
    Assignment("losses", "Loss functions: squared loss and cross-entropy", 20),
    Assignment("backprop", "The chain rule and backpropagation", 20),
    Assignment("gradient_descent", "Gradient descent: batch, stochastic and mini-batch", 20,
               tensorflow=False),
    Assignment("mlp_mnist", "A multilayer perceptron learns MNIST", 20,
               runs=("the lecture's run",), workers=2),
)


class UnknownAssignment(KeyError):
    def __str__(self) -> str:
        known = ", ".join(a.name for a in ASSIGNMENTS)
        return f"unknown assignment {self.args[0]!r} (known: {known})"


def uses_tensorflow(name: str) -> bool:
    """Whether grading ``name`` needs TensorFlow (yes for a name not in the course: the
    evaluator's own, ``""``)."""
    return next((a.tensorflow for a in ASSIGNMENTS if a.name == name), True)


def get(name: str) -> Assignment:
    for assignment in ASSIGNMENTS:
        if assignment.name == name:
            return assignment
    raise UnknownAssignment(name)
