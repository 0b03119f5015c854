"""Reference solutions of stuck's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "07-stuck/1": """\
lab.admin("shanghai").set_namespace_clusters(f"{lab.topology.tenant}/invoices", ["shanghai", "beijing"])
""",
    "07-stuck/2": """\
lab.admin("shanghai").set_schema_compatibility_strategy(f"{lab.topology.tenant}/profiles", "ALWAYS_COMPATIBLE")
lab.admin("beijing").unload_topic(profiles)
lab.admin("shanghai").unload_topic(profiles)
""",
    "07-stuck/3": """\
lab.admin("beijing").set_topic_replication_clusters(old_orders, ["beijing"])
lab.admin("shanghai").set_topic_replication_clusters(old_orders, ["shanghai"])
try_delete(lab, "shanghai", old_orders, within_s=30)
try_delete(lab, "beijing", old_orders, within_s=30)
""",
    "07-stuck/4": """\
lab.admin("beijing").create_subscription(history, "pulsar.repl.shanghai", position="earliest")
lab.admin("beijing").set_namespace_clusters(f"{lab.topology.tenant}/history", ["beijing", "shanghai"])
""",
}
