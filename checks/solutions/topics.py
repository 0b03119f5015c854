"""Reference solutions of topics' exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "08-topics/1": """\
predict("08-topics/1", lab, "a partitioned topic with 4 partitions, within seconds")
""",
    "08-topics/2": """\
predict("08-topics/2", lab, "100 messages, stored in 10 entries: each batch crosses whole")
""",
    "08-topics/3": """\
lab.admin("beijing").set_topic_replication_clusters(f"persistent://{regional}/payments", ["beijing", "shanghai"])
""",
    "08-topics/4": """\
predict("08-topics/4", lab, "refused: the global policy holds in shanghai too")
""",
    "08-topics/5": """\
predict("08-topics/5", lab, "refused: names starting with pulsar.repl belong to replicators")
""",
    "08-topics/6": """\
predict("08-topics/6", lab, "accepted, and left out of the publishers, as the replicators are")
""",
}
