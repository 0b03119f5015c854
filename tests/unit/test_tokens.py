"""Tokens for labs with authentication on: HS256 JWTs Pulsar accepts, built by the standard library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest

from labs.admin import PulsarAdmin
from labs.backend import ClusterEndpoint, LabRecord
from labs.control import record_from_wire, record_to_wire
from labs.errors import SettingsError, UsageError
from labs.remote import RemoteBackend, RemoteClusters
from labs.tokens import LabAuth, create_token, token_role
from labs.topology import single

KEY = bytes(range(32))


def part(token: str, index: int) -> dict[str, object]:
    piece = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))))


def test_a_token_is_an_hs256_jwt_signed_with_the_key() -> None:
    token = create_token(KEY, "learner-ada")
    header, payload, signature = token.split(".")
    assert part(token, 0) == {"alg": "HS256"} and part(token, 1) == {"sub": "learner-ada"}
    expected = hmac.new(KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    assert "=" not in token  # unpadded base64url, as jjwt writes it
    assert token_role(token) == "learner-ada"
    assert create_token(KEY, "learner-bob") != token


def test_short_keys_and_odd_roles_are_refused() -> None:
    with pytest.raises(UsageError, match="at least 32"):
        create_token(b"short", "learner-ada")
    with pytest.raises(UsageError, match="not a token subject"):
        create_token(KEY, "two words")


def test_brokers_get_one_key_and_the_superuser_as_their_own_client() -> None:
    auth = LabAuth(KEY)
    settings = auth.broker_settings()
    assert settings["tokenSecretKey"] == "data:;base64," + base64.b64encode(KEY).decode()
    assert settings["brokerClientAuthenticationParameters"] == f"token:{auth.superuser_token}"
    assert token_role(auth.superuser_token) == settings["superUserRoles"] == "geolab-admin"
    assert settings["exposeTopicLevelMetricsInPrometheus"] == "false"


def test_the_admin_client_sends_its_token() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return httpx.Response(200, json=["beijing"])

    with PulsarAdmin("http://127.0.0.1:1", "beijing", transport=httpx.MockTransport(answer), token="t0k") as admin:
        admin.list_clusters()
    with PulsarAdmin("http://127.0.0.1:1", "beijing", transport=httpx.MockTransport(answer)) as admin:
        admin.list_clusters()
    assert seen == ["Bearer t0k", ""]


def test_a_records_tokens_cross_the_control_channel() -> None:
    record = LabRecord("welcome", single("beijing"),
                       {"beijing": ClusterEndpoint("beijing", "pulsar://beijing:6650", "http://beijing:8080", "c",
                                                   "t0k")})
    again, _ = record_from_wire(json.loads(json.dumps(record_to_wire(record))))
    assert again.endpoints["beijing"].token == "t0k"


def test_a_clusters_file_names_urls_and_the_token_key(tmp_path: Path) -> None:
    key = tmp_path / "token.key"
    key.write_bytes(KEY)
    good = {"clusters": {"beijing": {"service_url": "pulsar://pulsar-beijing:6650",
                                     "admin_url": "http://pulsar-beijing:8080/"}},
            "token_key_file": str(key)}
    (tmp_path / "clusters.json").write_text(json.dumps(good))
    clusters = RemoteClusters.from_file(tmp_path / "clusters.json")
    endpoint = clusters.endpoints["beijing"]
    assert endpoint.admin_url == "http://pulsar-beijing:8080" and token_role(endpoint.token) == "geolab-admin"
    backend = RemoteBackend(clusters, "ws-shared")
    with pytest.raises(UsageError, match="platform"):
        backend.kill_cluster(backend.record, "beijing")
    for broken, says in ((dict(good, clusters={}), "names no cluster"),
                         (dict(good, token_key_file=str(tmp_path / "missing")), "FileNotFoundError"),
                         (dict(good, clusters={"beijing": {"service_url": "http://x", "admin_url": "http://x"}}),
                          "service URL"),
                         ({"clusters": good["clusters"]}, "token_key_file")):
        (tmp_path / "clusters.json").write_text(json.dumps(broken))
        with pytest.raises(SettingsError, match=says):
            RemoteClusters.from_file(tmp_path / "clusters.json")
