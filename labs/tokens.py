"""Pulsar token authentication for labs that many learners share: the secret key, the broker
settings that turn authentication and authorization on, and the tokens (HS256 JWTs) for roles.

A token is what `bin/pulsar tokens create --secret-key ... --subject ROLE` makes: base64url of
``{"alg":"HS256"}`` and of ``{"sub": ROLE}``, signed with HMAC-SHA256 over a key of at least 256
bits (the broker rejects shorter keys). The standard library makes it; Pulsar 4.0.8 accepts it over
REST (``Authorization: Bearer``), the binary protocol and its own broker client. Every cluster of a
shared lab uses the same key, so the superuser's token also authenticates replication between them.
Pure: nothing here touches Docker or the network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from labs.errors import UsageError
from labs.i18n import _

SUPERUSER = "geolab-admin"
KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def create_token(key: bytes, role: str, expires_at: int | None = None) -> str:
    """A token for `role` signed with `key` (HS256); `expires_at` in epoch seconds, none by default."""
    if len(key) < KEY_BYTES:
        raise UsageError(_("A token key has {size} bytes; expected at least {least} (Pulsar rejects keys under 256 "
                           "bits). Make one with new_secret_key().").format(size=len(key), least=KEY_BYTES))
    if not role or any(c in role for c in " ,\n\t"):
        raise UsageError(_("Role {role!r} is not a token subject; expected one word such as 'learner-ada'.").format(
            role=role))
    claims: dict[str, object] = {"sub": role}
    if expires_at is not None:
        claims["exp"] = int(expires_at)
    header = _b64(json.dumps({"alg": "HS256"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def token_role(token: str) -> str:
    """The role a token names (its ``sub``), read without checking the signature (for messages)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["sub"])
    except (IndexError, ValueError, KeyError, TypeError):
        return "?"


def new_secret_key() -> bytes:
    return os.urandom(KEY_BYTES)


@dataclass(frozen=True)
class LabAuth:
    """Authentication and authorization for a lab's clusters: one key, one superuser.

    `broker_settings()` is what each broker gets (``PULSAR_PREFIX_<key>``); the broker's own client
    (standalone's bootstrap, replication to peers) authenticates as the superuser.
    """

    secret_key: bytes
    superuser: str = SUPERUSER

    def __post_init__(self) -> None:
        if len(self.secret_key) < KEY_BYTES:
            raise UsageError(_("A lab's token key has {size} bytes; expected at least {least}. Make one with "
                               "new_secret_key().").format(size=len(self.secret_key), least=KEY_BYTES))

    def token(self, role: str) -> str:
        return create_token(self.secret_key, role)

    @property
    def superuser_token(self) -> str:
        return self.token(self.superuser)

    def broker_settings(self) -> dict[str, str]:
        return {
            "authenticationEnabled": "true",
            "authenticationProviders": "org.apache.pulsar.broker.authentication.AuthenticationProviderToken",
            "tokenSecretKey": f"data:;base64,{base64.b64encode(self.secret_key).decode()}",
            "authorizationEnabled": "true",
            "superUserRoles": self.superuser,
            "brokerClientAuthenticationPlugin": "org.apache.pulsar.client.impl.auth.AuthenticationToken",
            "brokerClientAuthenticationParameters": f"token:{self.superuser_token}",
            # /metrics needs a token, and names no topic (learners would see each other's otherwise)
            "authenticateMetricsEndpoint": "true",
            "exposeTopicLevelMetricsInPrometheus": "false",
        }
