"""Reference solutions of one_way's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "03-one-way/1": """\
lab.admin("beijing").set_namespace_allowed_clusters(lab.namespace, ["beijing", "shanghai", "guangzhou"])
lab.admin("beijing").set_namespace_clusters(lab.namespace, ["beijing", "shanghai", "guangzhou"])
""",
}
