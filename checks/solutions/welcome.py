"""Reference solutions of welcome's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "00-welcome/1": """\
predict("00-welcome/1", lab, "no: a new subscription starts after the latest message")
""",
}
