"""Reference solutions of tdmq's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "09-tdmq/1": """\
lab.admin("beijing").create_cluster("guangzhou", service_url="http://guangzhou:8080", broker_service_url="pulsar://guangzhou:6650")
lab.admin("shanghai").create_cluster("guangzhou", service_url="http://guangzhou:8080", broker_service_url="pulsar://guangzhou:6650")
lab.admin("beijing").create_tenant("geolab", ["beijing", "guangzhou"])
lab.admin("beijing").create_namespace("geolab/orders", ["beijing", "guangzhou"])
lab.admin("shanghai").create_tenant("geolab", ["shanghai", "guangzhou"])
lab.admin("shanghai").create_namespace("geolab/orders", ["shanghai", "guangzhou"])
lab.admin("guangzhou").create_tenant("geolab", ["guangzhou"])
lab.admin("guangzhou").create_namespace("geolab/orders", ["guangzhou"])
""",
    "09-tdmq/2": """\
predict("09-tdmq/2", lab, "to beijing and shanghai, once each")
""",
}
