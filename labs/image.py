"""The Pulsar image: choose one, pull it with progress, or build it offline from Maven Central.

Owns the image contract (see docker/Dockerfile). Both the official image and the offline build
start Pulsar the same way, so the rest of the lab never asks which one it got.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError, ImageNotFound

import docker
from labs.errors import ImageError
from labs.settings import (
    DISTRIBUTION_ARTIFACT,
    LOCAL_IMAGE,
    OFFICIAL_IMAGE,
    PULSAR_VERSION,
    LabSettings,
)

Progress = Callable[[str], None]

#: Base image made by debootstrap when no JRE image can be pulled.
DEBIAN_BASE_IMAGE = "geolab/debian-jre:bookworm-17"
#: JRE image tried first as a base where a registry is reachable.
JRE_BASE_IMAGE = "eclipse-temurin:17-jre"
DEBIAN_PACKAGES = "openjdk-17-jre-headless,python3,procps,ca-certificates,netbase"
DEBIAN_MIRROR = os.environ.get("GEOLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
LABEL_RECIPE = "org.geolab.image-recipe"
DOCKER_DIR = Path(__file__).resolve().parent.parent / "docker"


@dataclass(frozen=True)
class ImageStatus:
    """Which Pulsar images this engine has."""

    official: bool
    local: bool
    forced: str | None
    forced_present: bool


def _present(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except ImageNotFound:
        return False
    return True


def image_status(client: docker.DockerClient, settings: LabSettings) -> ImageStatus:
    """Report which of the known images are present."""
    forced = settings.image
    return ImageStatus(
        official=_present(client, OFFICIAL_IMAGE),
        local=_present(client, LOCAL_IMAGE),
        forced=forced,
        forced_present=bool(forced) and _present(client, forced or ""),
    )


def pull_with_progress(client: docker.DockerClient, name: str, progress: Progress) -> None:
    """Pull an image, reporting layer progress as it goes.

    Raises:
        ImageError: the registry refused or could not be reached.
    """
    repository, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "latest")
    progress(f"Pulling {name} (first use only) ...")
    done: set[str] = set()
    try:
        for event in client.api.pull(repository, tag=tag, stream=True, decode=True):
            status = str(event.get("status", ""))
            layer = str(event.get("id", ""))
            if status in ("Download complete", "Pull complete", "Already exists") and layer not in done:
                done.add(layer)
                progress(f"  layer {layer}: {status.lower()} ({len(done)} done)")
            if "error" in event:
                raise ImageError(f"Pulling {name} failed: {event['error']}")
    except APIError as exc:
        raise ImageError(
            f"Pulling {name} failed: {exc.explanation or exc}. Expected a reachable container registry. "
            "Without one, build the same image offline with `make image` (or `geolab image build`)."
        ) from exc
    progress(f"Pulled {name}.")


def resolve_image(
    client: docker.DockerClient, settings: LabSettings, progress: Progress, pull: bool = True
) -> str:
    """Choose the image a lab runs: GEOLAB_PULSAR_IMAGE, else the official one, else the offline build.

    Raises:
        ImageError: no usable image is present and none could be pulled.
    """
    if settings.image:
        if _present(client, settings.image):
            return settings.image
        if not pull:
            raise ImageError(
                f"GEOLAB_PULSAR_IMAGE={settings.image} is not present on this Docker engine. "
                "Pull or build it, or unset GEOLAB_PULSAR_IMAGE to let the lab choose."
            )
        pull_with_progress(client, settings.image, progress)
        return settings.image
    if _present(client, OFFICIAL_IMAGE):
        return OFFICIAL_IMAGE
    if _present(client, LOCAL_IMAGE):
        return LOCAL_IMAGE
    if not pull:
        raise ImageError(
            f"No Pulsar image: neither {OFFICIAL_IMAGE} nor {LOCAL_IMAGE} is present. "
            f"Run `docker pull {OFFICIAL_IMAGE}`, or build it offline with `make image`."
        )
    try:
        pull_with_progress(client, OFFICIAL_IMAGE, progress)
    except ImageError as exc:
        raise ImageError(
            f"No Pulsar image: {LOCAL_IMAGE} is not built and {exc}"
        ) from exc
    return OFFICIAL_IMAGE


# --------------------------------------------------------------------------- offline build


def _run(command: list[str], what: str, progress: Progress) -> None:
    progress(f"$ {' '.join(command)}")
    try:
        subprocess.run(command, check=True)
    except FileNotFoundError as exc:
        raise ImageError(f"{what} failed: `{command[0]}` is not installed. Install it and retry.") from exc
    except subprocess.CalledProcessError as exc:
        raise ImageError(f"{what} failed: `{' '.join(command)}` exited with {exc.returncode}.") from exc


def fetch_distribution(settings: LabSettings, progress: Progress) -> Path:
    """Download Pulsar's binary distribution from Maven Central (cached; Maven verifies checksums)."""
    target = settings.cache_dir / "dist"
    tarball = target / f"pulsar-server-distribution-{PULSAR_VERSION}-bin.tar.gz"
    if tarball.exists():
        progress(f"Pulsar {PULSAR_VERSION} distribution: cached at {tarball}")
        return tarball
    target.mkdir(parents=True, exist_ok=True)
    progress(f"Downloading {DISTRIBUTION_ARTIFACT} from Maven Central (about 245 MB) ...")
    _run(
        ["mvn", "-B", "--strict-checksums", "dependency:copy",
         f"-Dartifact={DISTRIBUTION_ARTIFACT}", f"-DoutputDirectory={target}"],
        "Downloading the Pulsar distribution with Maven",
        progress,
    )
    if not tarball.exists():
        raise ImageError(f"Maven finished but {tarball} is missing. Check the Maven output above.")
    return tarball


def ensure_base_image(client: docker.DockerClient, settings: LabSettings, progress: Progress) -> str:
    """A JRE base image: a pulled JRE image when a registry answers, else Debian made by debootstrap."""
    for name in (DEBIAN_BASE_IMAGE, JRE_BASE_IMAGE):
        if _present(client, name):
            progress(f"Base image: {name} (present)")
            return name
    try:
        pull_with_progress(client, JRE_BASE_IMAGE, progress)
        return JRE_BASE_IMAGE
    except ImageError as exc:
        progress(f"No JRE image from a registry ({str(exc).splitlines()[0][:120]}); using debootstrap.")
    if os.geteuid() != 0:
        raise ImageError(
            "Building the Debian base image needs root (debootstrap). Run `sudo make image`, "
            f"or pull {JRE_BASE_IMAGE} / {OFFICIAL_IMAGE} where a registry is reachable."
        )
    rootfs = Path(tempfile.mkdtemp(prefix="geolab-rootfs-", dir=settings.cache_dir))
    try:
        progress(f"debootstrap: Debian bookworm + {DEBIAN_PACKAGES} into {rootfs} (a few minutes) ...")
        _run(
            ["debootstrap", "--variant=minbase", f"--include={DEBIAN_PACKAGES}", "bookworm",
             str(rootfs), DEBIAN_MIRROR],
            "debootstrap of the Debian base",
            progress,
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / leftover).glob("*"):
                if item.is_file():
                    item.unlink()
        archive = rootfs.with_suffix(".tar")
        _run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], "Packing the Debian root filesystem",
             progress)
        progress(f"docker import {archive} -> {DEBIAN_BASE_IMAGE}")
        repository, tag = DEBIAN_BASE_IMAGE.split(":")
        client.api.import_image_from_file(
            str(archive), repository=repository, tag=tag,
            changes=[
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64",
                "ENV LANG=C.UTF-8",
                'CMD ["bash"]',
            ],
        )
        archive.unlink()
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return DEBIAN_BASE_IMAGE


def _recipe(base_id: str) -> str:
    digest = hashlib.sha256()
    for part in (PULSAR_VERSION, base_id):
        digest.update(part.encode())
    for name in ("Dockerfile", "apply-config-from-env.py"):
        digest.update((DOCKER_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def build_image(client: docker.DockerClient, settings: LabSettings, progress: Progress) -> str:
    """Build LOCAL_IMAGE offline; a second build with nothing changed returns in seconds."""
    if not (DOCKER_DIR / "Dockerfile").exists():
        raise ImageError(f"{DOCKER_DIR}/Dockerfile is missing: build from a checkout of the project.")
    base = ensure_base_image(client, settings, progress)
    recipe = _recipe(client.images.get(base).id)
    try:
        current = client.images.get(LOCAL_IMAGE)
        if current.labels.get(LABEL_RECIPE) == recipe:
            progress(f"{LOCAL_IMAGE} is up to date (recipe {recipe}).")
            return LOCAL_IMAGE
    except ImageNotFound:
        pass
    tarball = fetch_distribution(settings, progress)
    with tempfile.TemporaryDirectory(prefix="geolab-build-", dir=settings.cache_dir) as context:
        ctx = Path(context)
        inside = ctx / f"apache-pulsar-{PULSAR_VERSION}-bin.tar.gz"
        try:
            os.link(tarball, inside)
        except OSError:
            shutil.copy2(tarball, inside)
        for name in ("Dockerfile", "apply-config-from-env.py"):
            shutil.copy2(DOCKER_DIR / name, ctx / name)
        progress(f"Building {LOCAL_IMAGE} on {base} ...")
        stream = client.api.build(
            path=str(ctx), tag=LOCAL_IMAGE, rm=True, decode=True,
            buildargs={"BASE_IMAGE": base, "PULSAR_VERSION": PULSAR_VERSION},
            labels={LABEL_RECIPE: recipe, "org.opencontainers.image.version": PULSAR_VERSION},
        )
        for event in stream:
            if "error" in event:
                raise ImageError(f"Building {LOCAL_IMAGE} failed: {event['error'].strip()}")
            text = str(event.get("stream", "")).strip()
            if text.startswith("Step ") or text.startswith("Successfully"):
                progress(f"  {text}")
    return LOCAL_IMAGE
