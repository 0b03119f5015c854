"""docs/k8s (on paper, not installed here) agrees with the code it describes: the learners' image and
its user, home and start command; the login pattern; the class view's name; the Pulsar superuser and the
broker settings a shared class needs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from checks.sandbox.provisioner import SANDBOX_UID
from checks.workshop.hub import CLASS_VIEW, HOME_INSIDE
from checks.workshop.image import singleuser_image_name
from checks.workshop.labs import LEARNER
from labs.tokens import SUPERUSER, LabAuth

DOCS = Path(__file__).resolve().parents[2] / "docs" / "k8s"
DOCKERFILE = Path(__file__).resolve().parents[2] / "docker" / "Dockerfile.singleuser"


def test_the_hub_values_describe_the_learners_image_and_login() -> None:
    values = yaml.safe_load((DOCS / "z2jh-values.yaml").read_text())
    single = values["singleuser"]
    name, tag = singleuser_image_name("self-paced").split(":")
    assert single["image"]["name"].endswith(name) and single["image"]["tag"] == tag
    assert single["uid"] == SANDBOX_UID and single["storage"]["homeMountPath"] == HOME_INSIDE
    command = re.search(r'CMD \["sh", "-c", "(.*)"\]', DOCKERFILE.read_text())
    assert command is not None and single["cmd"][2] == command.group(1).replace('\\"', '"')
    assert values["hub"]["config"]["Authenticator"]["username_pattern"] == LEARNER.pattern
    assert CLASS_VIEW in values["hub"]["services"]
    assert f"access:services!service={CLASS_VIEW}" in values["hub"]["loadRoles"]["instructors"]["scopes"]
    assert not single["networkPolicy"]["egressAllowRules"]["nonPrivateIPs"]  # learners reach Pulsar only


def test_the_pulsar_values_turn_on_what_a_shared_class_needs() -> None:
    values = yaml.safe_load((DOCS / "pulsar-values.yaml").read_text())
    assert values["auth"]["authentication"]["enabled"] and values["auth"]["authorization"]["enabled"]
    assert values["auth"]["authentication"]["jwt"]["usingSecretKey"]
    assert values["auth"]["superUsers"]["broker"] == SUPERUSER
    broker = values["broker"]["configData"]
    for key in ("authenticateMetricsEndpoint", "exposeTopicLevelMetricsInPrometheus"):
        assert broker[key] == LabAuth(bytes(32)).broker_settings()[key]
    assert values["components"]["functions"] is False
