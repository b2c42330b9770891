"""The manifest's declared point totals are the suites' real totals."""

from __future__ import annotations

import pytest

from autograder import manifest
from autograder.generate import pipelines
from autograder.grading.collect import suite_tests, total_points

BUILT = [a for a in manifest.ASSIGNMENTS if pipelines.master_path(a.name).exists()]


@pytest.mark.parametrize("assignment", BUILT, ids=lambda a: a.name)
def test_declared_total_matches_suite(assignment: manifest.Assignment):
    assert total_points(assignment.name) == assignment.points


@pytest.mark.parametrize("assignment", BUILT, ids=lambda a: a.name)
def test_every_test_has_a_name_and_points(assignment: manifest.Assignment):
    tests = suite_tests(assignment.name)
    assert tests
    for test in tests:
        assert test.points > 0 and test.name != test.id, test


def test_every_assignment_of_the_course_is_built():
    missing = [a.name for a in manifest.ASSIGNMENTS if a not in BUILT]
    assert not missing, f"no master yet for {missing}"


def test_unknown_assignment_message_lists_the_known_ones():
    with pytest.raises(manifest.UnknownAssignment) as info:
        manifest.get("nope")
    assert "mlp_mnist" in str(info.value)



@pytest.mark.parametrize("assignment", BUILT, ids=lambda a: a.name)
def test_every_test_is_about_one_graded_function_and_every_function_is_tested(
        assignment: manifest.Assignment):
    graded = set(pipelines.graded_functions(assignment.name))
    named = {test.name.partition(": ")[0] for test in suite_tests(assignment.name)}
    assert named <= graded | set(assignment.runs), named - graded
    assert graded <= named, f"graded functions without a test: {graded - named}"
