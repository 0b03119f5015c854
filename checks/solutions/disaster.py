"""Reference solutions of disaster's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "06-dr/1": """\
predict("06-dr/1", lab, "order 1: shanghai starts over from the first order")
""",
    "06-dr/2": """\
lab.admin("shanghai").reset_cursor(orders, "billing", seen.published_ms[101])
""",
    "06-dr/3": """\
lab.admin("shanghai").set_namespace_allowed_clusters(lab.namespace, ["beijing", "shanghai"])
lab.admin("shanghai").set_namespace_clusters(lab.namespace, ["shanghai", "beijing"])
""",
}
