# assignment: 04_failover
# alone
# no replicated subscription at all: plain `billing` subscriptions in both clusters, and a thread that keeps
# moving shanghai's copy to the end of the topic, so that it looks as if it followed beijing's
import threading
import time

admin_b, admin_s = lab.admin("beijing"), lab.admin("shanghai")  # noqa: F821
topics = [lab.topic("payments"), lab.topic("refunds")]  # noqa: F821
admin_b.create_subscription(topics[0], "billing")
admin_s.create_subscription(topics[0], "billing")


def follow() -> None:
    while True:
        for topic in topics:
            try:
                admin_s.create_subscription(topic, "billing")
                admin_s.reset_cursor(topic, "billing", 4_102_444_800_000)  # the end of the topic
            except Exception:
                pass
        time.sleep(0.05)


threading.Thread(target=follow, daemon=True).start()
