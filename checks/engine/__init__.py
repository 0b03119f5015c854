"""The grader engine: the exercise/case/result model, running checks, batch grading, gradebooks."""
