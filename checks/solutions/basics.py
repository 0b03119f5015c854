"""Reference solutions of basics's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "01-basics/1": """\
lab.admin("beijing").create_cluster("shanghai", service_url="http://shanghai:8080", broker_service_url="pulsar://shanghai:6650")
lab.admin("shanghai").create_cluster("beijing", service_url="http://beijing:8080", broker_service_url="pulsar://beijing:6650")
""",
    "01-basics/2": """\
lab.admin("beijing").create_tenant("geolab", ["beijing", "shanghai"])
lab.admin("beijing").create_namespace("geolab/geo", ["beijing", "shanghai"])
lab.admin("shanghai").create_tenant("geolab", ["beijing", "shanghai"])
lab.admin("shanghai").create_namespace("geolab/geo", ["beijing", "shanghai"])
""",
    "01-basics/3": """\
predict("01-basics/3", lab, "beijing → shanghai only")
""",
}
