"""Reference solutions of failover's exercises (never in the grading sandbox's image): the code a
learner would write in the exercise cell, run as it stands by `solve()` and shown in the
self-paced edition."""

SOLUTIONS = {
    "04-failover/1": """\
lab.admin("beijing").create_subscription(topic, "billing", replicated=True)
""",
    "04-failover/2": """\
predict("04-failover/2", lab, "more than 10: Pulsar writes markers beside the messages")
""",
    "04-failover/3": """\
lab.admin("beijing").set_replicated_subscription_status(refunds, "billing", True)
""",
    "04-failover/4": """\
lab.kill("beijing")
drill.mark_failure()
drill.receive_rest(timeout_s=90)
lab.start_cluster("beijing")
drill.switch_back(timeout_s=120)
""",
}
