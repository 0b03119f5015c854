"""Pinned versions, image names, label keys and the environment-driven lab settings.

Owns every constant that names the Pulsar image; nothing here touches Docker or the network.
Settings are read from the environment only when `load_settings()` is called, never at import,
and every value is checked there: a bad one is a `SettingsError` before anything starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labs.errors import SettingsError
from labs.i18n import _, configured_language

#: The one Pulsar version the lab runs everywhere (never 4.2.0: advertised-address regression).
PULSAR_VERSION = "4.0.8"
#: The official image, pulled on first use where a registry is reachable.
OFFICIAL_IMAGE = f"apachepulsar/pulsar:{PULSAR_VERSION}"
#: The equivalent image `make image` builds offline from Maven Central artifacts.
LOCAL_IMAGE = f"geolab/pulsar:{PULSAR_VERSION}"
#: Maven coordinates of Pulsar's binary server distribution (bin/, conf/, lib/).
DISTRIBUTION_ARTIFACT = f"org.apache.pulsar:pulsar-server-distribution:{PULSAR_VERSION}:tar.gz:bin"

LABEL_LAB = "org.geolab.lab"
LABEL_ROLE = "org.geolab.role"
LABEL_CLUSTER = "org.geolab.cluster"
LABEL_TOPOLOGY = "org.geolab.topology"
LABEL_PORTS = "org.geolab.ports"
LABEL_SANDBOX = "org.geolab.sandbox"  # a grading sandbox's kernel and network
LABEL_CLOSED = "org.geolab.closed"  # a network of a lab a trusted side runs for a learner (labs.firewall)

BROKER_PORT = 6650
HTTP_PORT = 8080
ZOOKEEPER_PORT = 2181
LOOPBACK = "127.0.0.1"

DEFAULT_START_TIMEOUT_S = 240.0
DEFAULT_MEMORY = "-Xms256m -Xmx384m -XX:MaxDirectMemorySize=256m"
DEFAULT_GC = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
#: What GEOLAB_LAB_PREFIX may hold: it starts lab names, which become container and network names.
PREFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,20}$")
IMAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
JVM_FLAG = re.compile(r"^-[A-Za-z]\S*$")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class LabSettings:
    """What a lab start may vary through the environment.

    Attributes:
        image: image forced by ``GEOLAB_PULSAR_IMAGE``; None lets the lab choose.
        start_timeout_s: deadline for a cluster to become healthy (``GEOLAB_START_TIMEOUT``).
        broker_memory: JVM memory flags for each Pulsar container (``GEOLAB_PULSAR_MEM``).
        broker_gc: JVM collector and JIT flags for each Pulsar container (``GEOLAB_PULSAR_GC``);
            the default C1-only JIT cuts start-up CPU by about a third on two cores (benchmarks/).
        cache_dir: image build downloads and work folders (``GEOLAB_CACHE``); created when needed.
        lab_prefix: put before every lab name (``GEOLAB_LAB_PREFIX``); batch grading gives each
            submission its own labs this way.
        keep_labs: `Lab.stop()` leaves the clusters running (``GEOLAB_KEEP_LABS=1``), so a grader can
            read their state after the notebook ended.
        debian_mirror: the Debian mirror for the base image's root filesystem
            (``GEOLAB_DEBIAN_MIRROR``); None: the host's apt sources, else debootstrap's default.
        control_socket: labs come from a trusted side through this control channel socket
            (``GEOLAB_CONTROL``, set by the grader or the lab server inside a kernel without Docker).
        control_token: the kernel's token for that channel (``GEOLAB_CONTROL_TOKEN``).
        language: messages in ``en`` or ``zh`` (``GEOLAB_LANG``); None follows the locale (`labs.i18n`).
    """

    image: str | None = None
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S
    broker_memory: str = DEFAULT_MEMORY
    broker_gc: str = DEFAULT_GC
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "geolab")
    lab_prefix: str = ""
    keep_labs: bool = False
    debian_mirror: str | None = None
    control_socket: str | None = None
    control_token: str = field(default="", repr=False)
    language: str | None = None


def _timeout(env: Mapping[str, str]) -> float:
    text = env.get("GEOLAB_START_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_START_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 1 <= value <= 3600:  # also false for NaN
        raise SettingsError(_(
            "GEOLAB_START_TIMEOUT={value!r} is not a number of seconds between 1 and 3600; expected e.g. 240. "
            "Unset it, or set a number such as GEOLAB_START_TIMEOUT=400 on a slow machine."
        ).format(value=text))
    return value


def _jvm_flags(env: Mapping[str, str], name: str, default: str) -> str:
    text = env.get(name, "").strip()
    if not text:
        return default
    bad = [flag for flag in text.split() if not JVM_FLAG.match(flag)]
    if bad:
        raise SettingsError(_("{name}={value!r} holds {bad}, which are not JVM flags; expected flags such as "
                              "{default!r}. Unset {name} to use that default.").format(
            name=name, value=text, bad=bad, default=default))
    return text


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise SettingsError(_("{name}={value!r} is neither on nor off; expected 1 or 0 (true/false, yes/no).").format(
        name=name, value=env[name]))


def _image(env: Mapping[str, str]) -> str | None:
    text = env.get("GEOLAB_PULSAR_IMAGE", "").strip()
    if not text:
        return None
    if not IMAGE_PATTERN.match(text):
        raise SettingsError(_("GEOLAB_PULSAR_IMAGE={value!r} is not an image reference; expected e.g. {official} or "
                              "{local}. Unset it to let the lab choose.").format(
            value=text, official=OFFICIAL_IMAGE, local=LOCAL_IMAGE))
    return text


def _prefix(env: Mapping[str, str]) -> str:
    text = env.get("GEOLAB_LAB_PREFIX", "")
    if text and not PREFIX_PATTERN.match(text):
        raise SettingsError(_("GEOLAB_LAB_PREFIX={value!r} cannot start a lab name; expected up to 21 lowercase "
                              "letters, digits and '-', starting with a letter or digit (e.g. 'grade3-').").format(
            value=text))
    return text


def _cache(env: Mapping[str, str]) -> Path:
    text = env.get("GEOLAB_CACHE", "").strip()
    path = Path(text).expanduser() if text else Path.home() / ".cache" / "geolab"
    if not path.is_absolute():
        raise SettingsError(_("GEOLAB_CACHE={value!r} is a relative path; expected an absolute folder such as "
                              "{example}.").format(value=text, example=Path.home() / ".cache" / "geolab"))
    if path.exists() and not path.is_dir():
        raise SettingsError(_("GEOLAB_CACHE={value!r} is a file; expected a folder (it is created when "
                              "missing).").format(value=str(path)))
    return path


def _mirror(env: Mapping[str, str]) -> str | None:
    text = env.get("GEOLAB_DEBIAN_MIRROR", "").strip()
    if not text:
        return None
    if not re.match(r"^(https?|file)://\S+$", text):
        raise SettingsError(_("GEOLAB_DEBIAN_MIRROR={value!r} is not a mirror URL; expected e.g. "
                              "http://deb.debian.org/debian. Unset it to use the host's apt sources.").format(
            value=text))
    return text.rstrip("/")


def load_settings(env: Mapping[str, str] | None = None) -> LabSettings:
    """Read and check the lab settings from the environment (or `env`).

    Raises:
        SettingsError: a GEOLAB_* value is unusable; the message names it and the expected form.
    """
    source = os.environ if env is None else env
    return LabSettings(
        image=_image(source),
        start_timeout_s=_timeout(source),
        broker_memory=_jvm_flags(source, "GEOLAB_PULSAR_MEM", DEFAULT_MEMORY),
        broker_gc=_jvm_flags(source, "GEOLAB_PULSAR_GC", DEFAULT_GC),
        cache_dir=_cache(source),
        lab_prefix=_prefix(source),
        keep_labs=_flag(source, "GEOLAB_KEEP_LABS"),
        debian_mirror=_mirror(source),
        control_socket=source.get("GEOLAB_CONTROL", "").strip() or None,
        control_token=source.get("GEOLAB_CONTROL_TOKEN", ""),
        language=configured_language(source),
    )
