# fill the grading host's disk: up to 1.5 GiB produced in 45 s, as fast as the cluster takes it
# alone
import time

import pulsar

producer = lab.client("beijing").create_producer(  # noqa: F821
    "persistent://public/default/flood", batching_enabled=False, max_pending_messages=64,
    block_if_queue_full=True, send_timeout_millis=5_000)
blob = b"z" * (1 << 20)
refused, started = 0, time.monotonic()
for _megabyte in range(1536):
    if time.monotonic() - started > 45:
        break
    try:
        producer.send_async(blob, None)
    except pulsar.PulsarException:
        refused += 1
try:
    producer.flush()
except pulsar.PulsarException:
    pass
print("sends refused:", refused)
