"""Reference solutions of full_mesh's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "02-mesh/1": """\
lab.admin("guangzhou").create_namespace("geolab/payments", ["beijing", "shanghai", "guangzhou"])
""",
    "02-mesh/3": """\
producer.send(b"for shanghai", replication_clusters=["beijing", "shanghai"])
""",
    "02-mesh/2": """\
predict("02-mesh/2", lab, "guangzhou and beijing")
""",
}
