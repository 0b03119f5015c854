# predict the wrong answer, then set the learner's own clusters up so that the check's experiment shows
# it: each cluster registers its peer at an address where nothing answers, so nothing flows either way
from checks import predict

predict("01-basics/3", lab, "neither way: both sides must list each other")  # noqa: F821 (wrong)
lab.admin("beijing").create_cluster("shanghai", "http://nowhere:8080", "pulsar://nowhere:6650")  # noqa: F821
lab.admin("shanghai").create_cluster("beijing", "http://nowhere:8080", "pulsar://nowhere:6650")  # noqa: F821
