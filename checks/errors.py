"""The grader's errors, under the lab's one root (`labs.errors.LabError`)::

    LabError
    └── GradingError    an exercise id, notebook, submissions folder or hidden-check module the
                        grader cannot use; says which, what was expected, and what to do
"""

from __future__ import annotations

from labs.errors import LabError


class GradingError(LabError):
    """Something a grader or a learner handed to the checks cannot be used; nothing was graded."""
