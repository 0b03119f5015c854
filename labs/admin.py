"""A typed client for Pulsar's admin REST API v2; one method per `pulsar-admin` verb.

Owns HTTP only: it never imports the Docker side of the lab. Data that leaves this module is a
frozen dataclass. Errors are `AdminUnreachable` (no HTTP answer) or `AdminRefused` (the broker
answered with an error status), both `AdminError`s carrying method, URL, status and Pulsar's reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from labs.errors import AdminError, AdminRefused, AdminUnreachable, UsageError
from labs.i18n import _

JSON = Any
AdminErrorT = TypeVar("AdminErrorT", bound=AdminError)


@dataclass(frozen=True)
class ClusterData:
    """A cluster registration (`pulsar-admin clusters get`)."""

    name: str
    service_url: str
    broker_service_url: str


@dataclass(frozen=True)
class TenantInfo:
    """`pulsar-admin tenants get`."""

    name: str
    admin_roles: tuple[str, ...]
    allowed_clusters: tuple[str, ...]


@dataclass(frozen=True)
class ReplicatorStats:
    """One entry of a topic's `replication` map: the link from this cluster to `remote_cluster`."""

    remote_cluster: str
    connected: bool
    replication_backlog: int
    msg_rate_in: float
    msg_rate_out: float
    msg_throughput_out: float
    replication_delay_s: float
    outbound_connection: str | None
    inbound_connection: str | None


@dataclass(frozen=True)
class SubscriptionStats:
    """One entry of a topic's `subscriptions` map."""

    name: str
    backlog: int
    replicated: bool
    consumers: int
    msg_rate_out: float


@dataclass(frozen=True)
class TopicStats:
    """`pulsar-admin topics stats`, with the fields the lab reads."""

    topic: str
    msg_in_counter: int
    msg_rate_in: float
    msg_rate_out: float
    publishers: tuple[str, ...]
    subscriptions: Mapping[str, SubscriptionStats]
    replication: Mapping[str, ReplicatorStats]
    raw: Mapping[str, JSON] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CursorInfo:
    """One managed-ledger cursor from `topics stats-internal` (replicators appear as `pulsar.repl.<c>`)."""

    name: str
    mark_delete_position: str
    read_position: str
    messages_consumed_counter: int


@dataclass(frozen=True)
class InternalStats:
    """`pulsar-admin topics stats-internal`: the ledger's entries (its cursors: `get_cursors`)."""

    topic: str
    entries_added: int
    entries: int


@dataclass(frozen=True)
class ExaminedMessage:
    """One stored message with the metadata the examine endpoint reports."""

    payload: bytes
    replicated_from: str | None
    replicated_to: tuple[str, ...]
    publish_time: str
    properties: dict[str, str] = field(default_factory=dict)


PROPERTY_HEADER = "X-Pulsar-PROPERTY"  # the message's properties as one JSON object (Pulsar 4.0)


def _properties(header: str | None) -> dict[str, str]:
    """The application's properties from the header (Pulsar's own, `__`-prefixed, left out)."""
    try:
        data = json.loads(header) if header else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items() if not str(k).startswith("__")} if isinstance(data, dict) else {}


@dataclass(frozen=True)
class PeekedMessage:
    """One message of a subscription's backlog, as `topics peek-messages` shows it."""

    payload: bytes
    properties: dict[str, str]
    publish_time: str
    replicated_from: str | None


def _f(data: Mapping[str, JSON], key: str, default: float = 0.0) -> float:
    """A number from Pulsar's stats; NaN and infinity (which Jackson can write) become `default`."""
    value = data.get(key, default)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else default


def parse_topic_stats(topic: str, data: Mapping[str, JSON]) -> TopicStats:
    """Build TopicStats from the JSON of `GET .../stats`."""
    replication = {
        remote: ReplicatorStats(
            remote_cluster=remote,
            connected=bool(item.get("connected", False)),
            replication_backlog=int(item.get("replicationBacklog", 0)),
            msg_rate_in=_f(item, "msgRateIn"),
            msg_rate_out=_f(item, "msgRateOut"),
            msg_throughput_out=_f(item, "msgThroughputOut"),
            replication_delay_s=_f(item, "replicationDelayInSeconds"),
            outbound_connection=item.get("outboundConnection"),
            inbound_connection=item.get("inboundConnection"),
        )
        for remote, item in (data.get("replication") or {}).items()
    }
    subscriptions = {
        name: SubscriptionStats(
            name=name,
            backlog=int(item.get("msgBacklog", 0)),
            replicated=bool(item.get("isReplicated", item.get("replicated", False))),
            consumers=len(item.get("consumers") or []),
            msg_rate_out=_f(item, "msgRateOut"),
        )
        for name, item in (data.get("subscriptions") or {}).items()
    }
    return TopicStats(
        topic=topic,
        msg_in_counter=int(data.get("msgInCounter", 0)),
        msg_rate_in=_f(data, "msgRateIn"),
        msg_rate_out=_f(data, "msgRateOut"),
        publishers=tuple(str(p.get("producerName", "")) for p in data.get("publishers") or []),
        subscriptions=subscriptions,
        replication=replication,
        raw=data,
    )


def topic_path(topic: str) -> str:
    """`persistent://t/ns/x` or `t/ns/x` -> `persistent/t/ns/x` for REST paths."""
    domain = "persistent"
    name = topic
    if "://" in topic:
        domain, _sep, name = topic.partition("://")
    parts = name.split("/")
    if len(parts) != 3 or not all(parts):
        raise UsageError(_("Topic {topic!r} is not a full topic name; expected "
                           "persistent://<tenant>/<namespace>/<topic>. In a notebook, lab.topic('orders') gives the "
                           "full name of a topic in the lab's namespace.").format(topic=topic))
    return f"{domain}/" + "/".join(quote(p, safe="") for p in parts)


class PulsarAdmin:
    """Admin client for one cluster's web service (`http://127.0.0.1:<port>`).

    Args:
        base_url: the cluster's admin URL on the host.
        cluster: the cluster's name, used in error messages.
        timeout_s: per-request timeout.
        transport: an httpx transport (tests pass `httpx.MockTransport`).
        token: a token for a cluster with authentication on (sent as ``Authorization: Bearer``).
    """

    def __init__(
        self,
        base_url: str,
        cluster: str = "",
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        token: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cluster = cluster
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PulsarAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- plumbing

    def _call(
        self,
        method: str,
        path: str,
        body: JSON = None,
        params: Mapping[str, str] | None = None,
        ok: Sequence[int] = (),
        hint: str = "",
    ) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(
                method,
                path,
                content=None if body is None else json.dumps(body),
                headers={"Content-Type": "application/json"} if body is not None else None,
                params=params,
            )
        except httpx.HTTPError as exc:
            hint = (_("Expected the broker of cluster {cluster!r} to answer; it is stopped, still starting, or the URL "
                      "is wrong. Check `geolab status`.").format(cluster=self.cluster) if self.cluster else
                    _("Expected the broker to answer; it is stopped, still starting, or the URL is wrong. Check "
                      "`geolab status`."))
            raise _failed(AdminUnreachable, method, url, 0, f"{type(exc).__name__}: {exc}", hint) from exc
        if response.status_code >= 400 and response.status_code not in ok:
            raise _failed(AdminRefused, method, url, response.status_code, _reason(response), hint)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = self._call(method, path, **kwargs)
        return response.json() if response.content else None

    # ----------------------------------------------------------------- brokers

    def healthcheck(self) -> bool:
        """`pulsar-admin brokers healthcheck`: produce and read a heartbeat message."""
        try:
            response = self._http.get("/admin/v2/brokers/health", params={"topicVersion": "V2"})
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.text.strip() == "ok"

    def get_metrics(self) -> str:
        """The broker's Prometheus metrics (`curl <admin-url>/metrics/`), as text."""
        return self._call("GET", "/metrics/").text

    def get_version(self) -> str:
        """`pulsar-admin brokers version`."""
        return self._call("GET", "/admin/v2/brokers/version").text.strip()

    def update_dynamic_config(self, name: str, value: str) -> None:
        """`pulsar-admin brokers update-dynamic-config --config NAME --value VALUE`."""
        self._call("POST", f"/admin/v2/brokers/configuration/{quote(name)}/{quote(value, safe='')}")

    # ----------------------------------------------------------------- clusters

    def list_clusters(self) -> list[str]:
        """`pulsar-admin clusters list`."""
        return sorted(self._json("GET", "/admin/v2/clusters"))

    def get_cluster(self, cluster: str) -> ClusterData:
        """`pulsar-admin clusters get CLUSTER`."""
        data = self._json("GET", f"/admin/v2/clusters/{quote(cluster)}")
        return ClusterData(cluster, data.get("serviceUrl", ""), data.get("brokerServiceUrl", ""))

    def create_cluster(self, cluster: str, service_url: str, broker_service_url: str) -> bool:
        """`pulsar-admin clusters create`; returns False when it existed (then it is updated)."""
        body = {"serviceUrl": service_url, "brokerServiceUrl": broker_service_url}
        response = self._call("PUT", f"/admin/v2/clusters/{quote(cluster)}", body=body, ok=(409,))
        if response.status_code == 409:
            self.update_cluster(cluster, service_url, broker_service_url)
            return False
        return True

    def update_cluster(self, cluster: str, service_url: str, broker_service_url: str) -> None:
        """`pulsar-admin clusters update`."""
        body = {"serviceUrl": service_url, "brokerServiceUrl": broker_service_url}
        self._call("POST", f"/admin/v2/clusters/{quote(cluster)}", body=body)

    def delete_cluster(self, cluster: str) -> None:
        """`pulsar-admin clusters delete`."""
        self._call("DELETE", f"/admin/v2/clusters/{quote(cluster)}")

    # ----------------------------------------------------------------- tenants

    def list_tenants(self) -> list[str]:
        """`pulsar-admin tenants list`."""
        return sorted(self._json("GET", "/admin/v2/tenants"))

    def get_tenant(self, tenant: str) -> TenantInfo:
        """`pulsar-admin tenants get`."""
        data = self._json("GET", f"/admin/v2/tenants/{quote(tenant)}")
        return TenantInfo(tenant, tuple(data.get("adminRoles") or ()), tuple(sorted(data.get("allowedClusters") or ())))

    def create_tenant(self, tenant: str, allowed_clusters: Sequence[str], admin_roles: Sequence[str] = ()) -> bool:
        """`pulsar-admin tenants create --allowed-clusters ... [--admin-roles ...]`; returns False when it
        existed (then updated)."""
        body = {"adminRoles": list(admin_roles), "allowedClusters": list(allowed_clusters)}
        response = self._call("PUT", f"/admin/v2/tenants/{quote(tenant)}", body=body, ok=(409,),
                              hint=_("The allowed clusters must be registered on this cluster first."))
        if response.status_code == 409:
            self.update_tenant(tenant, allowed_clusters, admin_roles)
            return False
        return True

    def update_tenant(self, tenant: str, allowed_clusters: Sequence[str], admin_roles: Sequence[str] = ()) -> None:
        """`pulsar-admin tenants update --allowed-clusters ... [--admin-roles ...]`."""
        body = {"adminRoles": list(admin_roles), "allowedClusters": list(allowed_clusters)}
        self._call("POST", f"/admin/v2/tenants/{quote(tenant)}", body=body)

    def delete_tenant(self, tenant: str, force: bool = False) -> None:
        """`pulsar-admin tenants delete`."""
        self._call("DELETE", f"/admin/v2/tenants/{quote(tenant)}", params={"force": str(force).lower()})

    # ----------------------------------------------------------------- namespaces

    def list_namespaces(self, tenant: str) -> list[str]:
        """`pulsar-admin namespaces list TENANT`."""
        return sorted(self._json("GET", f"/admin/v2/namespaces/{quote(tenant)}"))

    def create_namespace(self, namespace: str, clusters: Sequence[str] | None = None) -> bool:
        """`pulsar-admin namespaces create --clusters ...`; returns False when it existed."""
        body = {"replication_clusters": list(clusters)} if clusters else {}
        response = self._call("PUT", f"/admin/v2/namespaces/{namespace}", body=body, ok=(409,))
        return response.status_code != 409

    def delete_namespace(self, namespace: str, force: bool = False) -> None:
        """`pulsar-admin namespaces delete`."""
        self._call("DELETE", f"/admin/v2/namespaces/{namespace}", params={"force": str(force).lower()})

    def get_policies(self, namespace: str) -> Mapping[str, JSON]:
        """`pulsar-admin namespaces policies`."""
        data: Mapping[str, JSON] = self._json("GET", f"/admin/v2/namespaces/{namespace}")
        return data

    def get_namespace_clusters(self, namespace: str) -> list[str]:
        """`pulsar-admin namespaces get-clusters`."""
        return sorted(self._json("GET", f"/admin/v2/namespaces/{namespace}/replication"))

    def set_namespace_clusters(self, namespace: str, clusters: Sequence[str]) -> None:
        """`pulsar-admin namespaces set-clusters --clusters ...`."""
        self._call("POST", f"/admin/v2/namespaces/{namespace}/replication", body=list(clusters))

    def get_namespace_allowed_clusters(self, namespace: str) -> list[str]:
        """`pulsar-admin namespaces get-allowed-clusters`."""
        return sorted(self._json("GET", f"/admin/v2/namespaces/{namespace}/allowedClusters") or [])

    def set_namespace_allowed_clusters(self, namespace: str, clusters: Sequence[str]) -> None:
        """`pulsar-admin namespaces set-allowed-clusters --clusters ...`."""
        self._call("POST", f"/admin/v2/namespaces/{namespace}/allowedClusters", body=list(clusters))

    def get_replicator_dispatch_rate(self, namespace: str) -> Mapping[str, JSON] | None:
        """`pulsar-admin namespaces get-replicator-dispatch-rate`."""
        data: Mapping[str, JSON] | None = self._json("GET", f"/admin/v2/namespaces/{namespace}/replicatorDispatchRate")
        return data

    def set_replicator_dispatch_rate(self, namespace: str, msg_per_s: int, byte_per_s: int = -1) -> None:
        """`pulsar-admin namespaces set-replicator-dispatch-rate --msg-dispatch-rate N`."""
        body = {"dispatchThrottlingRateInMsg": msg_per_s, "dispatchThrottlingRateInByte": byte_per_s,
                "relativeToPublishRate": False, "ratePeriodInSecond": 1}
        self._call("POST", f"/admin/v2/namespaces/{namespace}/replicatorDispatchRate", body=body)

    def remove_replicator_dispatch_rate(self, namespace: str) -> None:
        """`pulsar-admin namespaces remove-replicator-dispatch-rate`."""
        self._call("DELETE", f"/admin/v2/namespaces/{namespace}/replicatorDispatchRate")

    def get_namespace_properties(self, namespace: str) -> dict[str, str]:
        """`pulsar-admin namespaces get-properties`."""
        return dict(self._json("GET", f"/admin/v2/namespaces/{namespace}/properties") or {})

    def set_namespace_properties(self, namespace: str, properties: Mapping[str, str]) -> None:
        """`pulsar-admin namespaces set-properties -p k=v` (merged with existing properties)."""
        self._call("PUT", f"/admin/v2/namespaces/{namespace}/properties", body=dict(properties))

    def delete_subscription(self, topic: str, subscription: str, force: bool = False) -> None:
        """`pulsar-admin topics unsubscribe -s SUB`."""
        self._call("DELETE", f"/admin/v2/{topic_path(topic)}/subscription/{quote(subscription, safe='')}",
                   params={"force": str(force).lower()})

    def unload_namespace(self, namespace: str) -> None:
        """`pulsar-admin namespaces unload`."""
        self._call("PUT", f"/admin/v2/namespaces/{namespace}/unload")

    def get_schema_compatibility_strategy(self, namespace: str) -> str:
        """`pulsar-admin namespaces get-schema-compatibility-strategy`."""
        return str(self._json("GET", f"/admin/v2/namespaces/{namespace}/schemaCompatibilityStrategy") or "UNDEFINED")

    def set_schema_compatibility_strategy(self, namespace: str, strategy: str) -> None:
        """`pulsar-admin namespaces set-schema-compatibility-strategy --compatibility STRATEGY`."""
        self._call("PUT", f"/admin/v2/namespaces/{namespace}/schemaCompatibilityStrategy", body=strategy)

    # ----------------------------------------------------------------- topics

    def create_topic(self, topic: str) -> bool:
        """`pulsar-admin topics create` (non-partitioned); returns False when it existed."""
        response = self._call("PUT", f"/admin/v2/{topic_path(topic)}", ok=(409,))
        return response.status_code != 409

    def create_partitioned_topic(self, topic: str, partitions: int) -> bool:
        """`pulsar-admin topics create-partitioned-topic -p N`; returns False when it existed."""
        response = self._call("PUT", f"/admin/v2/{topic_path(topic)}/partitions", body=partitions, ok=(409,))
        return response.status_code != 409

    def get_partitioned_topic_metadata(self, topic: str) -> int:
        """`pulsar-admin topics get-partitioned-topic-metadata`: the partition count (0: not partitioned)."""
        data = self._json("GET", f"/admin/v2/{topic_path(topic)}/partitions")
        return int(data.get("partitions", 0)) if isinstance(data, dict) else 0

    def update_partitioned_topic(self, topic: str, partitions: int) -> None:
        """`pulsar-admin topics update-partitioned-topic -p N` (partitions can only be added)."""
        self._call("POST", f"/admin/v2/{topic_path(topic)}/partitions", body=partitions)

    def unload_topic(self, topic: str) -> None:
        """`pulsar-admin topics unload`."""
        self._call("PUT", f"/admin/v2/{topic_path(topic)}/unload")

    def get_schema(self, topic: str) -> Mapping[str, JSON] | None:
        """`pulsar-admin schemas get`: the topic's latest schema, or None when it has none."""
        response = self._call("GET", f"/admin/v2/schemas/{topic_path(topic).split('/', 1)[1]}/schema", ok=(404,))
        if response.status_code == 404:
            return None
        data = response.json()
        return data if isinstance(data, dict) else None

    def delete_schema(self, topic: str) -> None:
        """`pulsar-admin schemas delete`."""
        self._call("DELETE", f"/admin/v2/schemas/{topic_path(topic).split('/', 1)[1]}/schema")

    def list_topics(self, namespace: str) -> list[str]:
        """`pulsar-admin topics list NAMESPACE`."""
        return sorted(self._json("GET", f"/admin/v2/persistent/{namespace}"))

    def get_topic_stats(self, topic: str) -> TopicStats:
        """`pulsar-admin topics stats`."""
        return parse_topic_stats(topic, self._json("GET", f"/admin/v2/{topic_path(topic)}/stats"))

    def get_cursors(self, topic: str) -> dict[str, CursorInfo]:
        """The `cursors` of `pulsar-admin topics stats-internal` (replicator cursors included)."""
        data = self._json("GET", f"/admin/v2/{topic_path(topic)}/internalStats")
        return {
            name: CursorInfo(
                name=name,
                mark_delete_position=str(item.get("markDeletePosition", "")),
                read_position=str(item.get("readPosition", "")),
                messages_consumed_counter=int(item.get("messagesConsumedCounter", 0)),
            )
            for name, item in (data.get("cursors") or {}).items()
        }

    def get_internal_stats(self, topic: str) -> InternalStats:
        """`pulsar-admin topics stats-internal`: the entries of the topic's managed ledger (a batch of
        messages is one entry)."""
        data = self._json("GET", f"/admin/v2/{topic_path(topic)}/internalStats")
        return InternalStats(topic=topic, entries_added=int(data.get("entriesAddedCounter", 0)),
                             entries=int(data.get("numberOfEntries", 0)))

    def get_max_producers(self, topic: str, is_global: bool = False) -> int | None:
        """`pulsar-admin topicPolicies get-max-producers [--global]`: the topic's own policy, None when unset."""
        data = self._json("GET", f"/admin/v2/{topic_path(topic)}/maxProducers",
                          params={"isGlobal": str(is_global).lower()})
        return int(data) if isinstance(data, int) else None

    def set_max_producers(self, topic: str, count: int, is_global: bool = False) -> None:
        """`pulsar-admin topicPolicies set-max-producers -p N [--global]`: a local policy stays in this
        cluster; a global one is replicated to the clusters of the topic's namespace."""
        self._call("POST", f"/admin/v2/{topic_path(topic)}/maxProducers",
                   params={"isGlobal": str(is_global).lower()}, body=count)

    def remove_max_producers(self, topic: str, is_global: bool = False) -> None:
        """`pulsar-admin topicPolicies remove-max-producers [--global]`."""
        self._call("DELETE", f"/admin/v2/{topic_path(topic)}/maxProducers",
                   params={"isGlobal": str(is_global).lower()})

    def list_subscriptions(self, topic: str) -> list[str]:
        """`pulsar-admin topics subscriptions`."""
        return sorted(self._json("GET", f"/admin/v2/{topic_path(topic)}/subscriptions"))

    def create_subscription(self, topic: str, subscription: str, replicated: bool = False,
                            position: str = "earliest") -> None:
        """`pulsar-admin topics create-subscription -s SUB -m earliest|latest [--replicated]`."""
        self._call(
            "PUT", f"/admin/v2/{topic_path(topic)}/subscription/{quote(subscription, safe='')}",
            body=position, params={"replicated": str(replicated).lower()}, ok=(409,),
        )

    def get_replicated_subscription_status(self, topic: str, subscription: str) -> bool:
        """`pulsar-admin topics get-replicated-subscription-status -s SUB`: whether the subscription's
        position is replicated (for a partitioned topic, every partition's)."""
        data = self._json("GET", f"/admin/v2/{topic_path(topic)}/subscription/{quote(subscription, safe='')}"
                          "/replicatedSubscriptionStatus")
        return bool(data) and all(bool(v) for v in data.values()) if isinstance(data, dict) else bool(data)

    def set_replicated_subscription_status(self, topic: str, subscription: str, enabled: bool) -> None:
        """`pulsar-admin topics set-replicated-subscription-status -s SUB --enable|--disable`: an existing
        subscription becomes replicated (or stops being), keeping its position."""
        self._call("POST", f"/admin/v2/{topic_path(topic)}/subscription/{quote(subscription, safe='')}"
                   "/replicatedSubscriptionStatus", body=enabled)

    def reset_cursor(self, topic: str, subscription: str, timestamp_ms: int) -> None:
        """`pulsar-admin topics reset-cursor -s SUB -t TIME`: the subscription's next message becomes the
        first one published at or after `timestamp_ms` (milliseconds since the epoch)."""
        self._call("POST", f"/admin/v2/{topic_path(topic)}/subscription/{quote(subscription, safe='')}"
                           f"/resetcursor/{int(timestamp_ms)}")

    def peek_messages(self, topic: str, subscription: str, count: int = 1) -> list[PeekedMessage]:
        """`pulsar-admin topics peek-messages -s SUB -n COUNT`: the next messages of a subscription's
        backlog, without consuming them (fewer when the backlog is shorter)."""
        found: list[PeekedMessage] = []
        for position in range(1, count + 1):
            response = self._call(
                "GET", f"/admin/v2/{topic_path(topic)}/subscription/{quote(subscription, safe='')}/position/{position}",
                ok=(404, 412, 500))
            if response.status_code >= 400:
                break
            headers = response.headers
            found.append(PeekedMessage(
                payload=response.content,
                properties=_properties(headers.get(PROPERTY_HEADER)),
                publish_time=headers.get("X-Pulsar-publish-time", ""),
                replicated_from=headers.get("X-Pulsar-replicated-from"),
            ))
        return found

    def get_topic_replication_clusters(self, topic: str, applied: bool = True) -> list[str]:
        """`pulsar-admin topics get-replication-clusters [--applied]`."""
        data = self._json("GET", f"/admin/v2/{topic_path(topic)}/replication",
                          params={"applied": str(applied).lower()})
        return sorted(data or [])

    def set_topic_replication_clusters(self, topic: str, clusters: Sequence[str]) -> None:
        """`pulsar-admin topics set-replication-clusters --clusters ...` (a local topic policy)."""
        self._call("POST", f"/admin/v2/{topic_path(topic)}/replication", body=list(clusters))

    def remove_topic_replication_clusters(self, topic: str) -> None:
        """`pulsar-admin topics remove-replication-clusters`."""
        self._call("DELETE", f"/admin/v2/{topic_path(topic)}/replication")

    def examine_message(self, topic: str, position: int = 1, initial: str = "latest") -> ExaminedMessage | None:
        """`pulsar-admin topics examine-message -i latest -m N`: the Nth message from the end (or start),
        with the metadata Pulsar returns in headers; None when there is no such message."""
        response = self._call(
            "GET", f"/admin/v2/{topic_path(topic)}/examinemessage",
            params={"initialPosition": initial, "messagePosition": str(position)}, ok=(404, 412, 500),
        )
        if response.status_code >= 400:
            return None
        headers = response.headers
        replicated_to = headers.get("X-Pulsar-replicated-to")
        return ExaminedMessage(
            payload=response.content,
            replicated_from=headers.get("X-Pulsar-replicated-from"),
            replicated_to=tuple(c.strip() for c in replicated_to.split(",")) if replicated_to else (),
            publish_time=headers.get("X-Pulsar-publish-time", ""),
            properties=_properties(headers.get(PROPERTY_HEADER)),
        )

    def delete_topic(self, topic: str, force: bool = False) -> None:
        """`pulsar-admin topics delete`."""
        self._call("DELETE", f"/admin/v2/{topic_path(topic)}", params={"force": str(force).lower()})


def _failed(kind: type[AdminErrorT], method: str, url: str, status: int, reason: str, hint: str) -> AdminErrorT:
    """An admin call's failure, said in the reader's language (`hint`: the next step, already in it)."""
    if status and hint:
        said = _("Pulsar admin call {method} {url} failed: HTTP {status}: {reason}. {hint}").format(
            method=method, url=url, status=status, reason=reason, hint=hint)
    elif status:
        said = _("Pulsar admin call {method} {url} failed: HTTP {status}: {reason}").format(
            method=method, url=url, status=status, reason=reason)
    elif hint:
        said = _("Pulsar admin call {method} {url} failed: no response: {reason}. {hint}").format(
            method=method, url=url, reason=reason, hint=hint)
    else:
        said = _("Pulsar admin call {method} {url} failed: no response: {reason}").format(
            method=method, url=url, reason=reason)
    return kind(method, url, status, reason, hint, said)


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(data, dict) and "reason" in data:
        return str(data["reason"])
    return json.dumps(data)[:500]
