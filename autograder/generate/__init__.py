"""Masters in, notebooks out: student stubs, reference solutions and the nbgrader source."""
