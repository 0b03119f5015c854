"""Reference solutions of operations's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "05-ops/1": """\
predict("05-ops/1", lab, "sends succeed; the messages wait in beijing and reach shanghai after the heal")
""",
    "05-ops/2": """\
lab.admin("beijing").set_replicator_dispatch_rate(lab.namespace, 5)
""",
    "05-ops/3": """\
lab.admin("beijing").create_topic(audit)
lab.admin("beijing").set_topic_replication_clusters(audit, ["beijing"])
""",
}
