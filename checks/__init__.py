"""The auto-grader's notebook API.

    from checks import check, progress, solve, reset
    check("03-one-way/1", lab)      # runs the exercise's checks on the live clusters
    progress("03_one_way", lab)     # every exercise of the notebook
    solve("03-one-way/1", lab)      # apply the reference solution (recorded: no points)
    reset("03-one-way/1", lab)      # put the clusters back to the exercise's starting state
    predict("06-dr/1", lab, "...")  # a predict-then-observe exercise: your answer, before the experiment

Checks read cluster state through the explicit `lab` handle, never notebook variables or output.
"""

from checks.engine.notebook import check, predict, progress, reset, solve

__all__ = ["check", "predict", "progress", "reset", "solve"]
