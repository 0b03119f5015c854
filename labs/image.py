"""The Pulsar image: choose one, pull it with progress, or build it offline from Maven Central.

Owns the image contract (docker/Dockerfile, shipped in the package as labs/dockerfiles). Both the
official image and the offline build start Pulsar the same way, so the rest of the lab never asks
which one it got.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from docker.errors import APIError, ImageNotFound

import docker
from labs.errors import ImageError
from labs.i18n import N_, _
from labs.settings import (
    DISTRIBUTION_ARTIFACT,
    LOCAL_IMAGE,
    OFFICIAL_IMAGE,
    PULSAR_VERSION,
    LabSettings,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

Progress = Callable[[str], None]

#: Base image made by debootstrap when no JRE image can be pulled.
DEBIAN_BASE_IMAGE = "geolab/debian-jre:bookworm-17"
#: JRE image tried first as a base where a registry is reachable.
JRE_BASE_IMAGE = "eclipse-temurin:17-jre"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = "openjdk-17-jre-headless,python3,python3-venv,procps,ca-certificates,netbase"
#: Debian release names a host's apt source may carry (its mirror then serves bookworm too).
DEBIAN_RELEASES = frozenset({"buster", "bullseye", "bookworm", "trixie", "forky", "sid",
                             "oldstable", "stable", "testing", "unstable"})
LABEL_RECIPE = "org.geolab.image-recipe"
LABEL_BASE_PACKAGES = "org.geolab.base-packages"
#: The image build files, shipped as package data (`labs/dockerfiles`, the repository's docker/).
IMAGE_FILES = ("Dockerfile", "apply-config-from-env.py")
#: The layer statuses a pull reports, as shown (Docker says them in English; the lab says them in the learner's).
PULL_STATUSES = {"Download complete": N_("download complete"), "Pull complete": N_("pull complete"),
                 "Already exists": N_("already exists")}


@dataclass(frozen=True)
class ImageStatus:
    """Which Pulsar images this engine has."""

    official: bool
    local: bool
    forced: str | None
    forced_present: bool


def image_files() -> Traversable:
    """The folder of image build files inside the installed package (a wheel or a checkout alike).

    Raises:
        ImageError: the package was installed without them.
    """
    folder = resources.files("labs") / "dockerfiles"
    missing = [name for name in IMAGE_FILES if not (folder / name).is_file()]
    if missing:
        raise ImageError(_("The installed geolab package lacks its image files {missing} (expected in {folder}). "
                           "Reinstall it: `pip install --force-reinstall pulsar-geolab` (or `make install` in a "
                           "checkout).").format(missing=missing, folder=folder))
    return folder


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
    repository, _colon, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "latest")
    progress(_("Pulling {name} (first use only) ...").format(name=name))
    done: set[str] = set()
    try:
        for event in client.api.pull(repository, tag=tag, stream=True, decode=True):
            status = str(event.get("status", ""))
            layer = str(event.get("id", ""))
            if status in PULL_STATUSES and layer not in done:
                done.add(layer)
                progress("  " + _("layer {layer}: {status} ({done} done)").format(
                    layer=layer, status=_(PULL_STATUSES[status]), done=len(done)))
            if "error" in event:
                raise ImageError(_("Pulling {name} failed: {error}").format(name=name, error=event["error"]))
    except APIError as exc:
        raise ImageError(_("Pulling {name} failed: {error}. Expected a reachable container registry. Without one, "
                           "build the same image offline with `make image` (or `geolab image build`).").format(
            name=name, error=exc.explanation or exc)) from exc
    progress(_("Pulled {name}.").format(name=name))


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
            raise ImageError(_("GEOLAB_PULSAR_IMAGE={image} is not present on this Docker engine. Pull or build "
                               "it, or unset GEOLAB_PULSAR_IMAGE to let the lab choose.").format(image=settings.image))
        pull_with_progress(client, settings.image, progress)
        return settings.image
    if _present(client, OFFICIAL_IMAGE):
        return OFFICIAL_IMAGE
    if _present(client, LOCAL_IMAGE):
        return LOCAL_IMAGE
    if not pull:
        raise ImageError(_("No Pulsar image: neither {official} nor {local} is present. Run `docker pull "
                           "{official}`, or build it offline with `make image`.").format(
            official=OFFICIAL_IMAGE, local=LOCAL_IMAGE))
    try:
        pull_with_progress(client, OFFICIAL_IMAGE, progress)
    except ImageError as exc:
        raise ImageError(_("No Pulsar image: {local} is not built and {error}").format(
            local=LOCAL_IMAGE, error=exc)) from exc
    return OFFICIAL_IMAGE


# --------------------------------------------------------------------------- offline build


def _stage(line: str) -> str:
    """debootstrap's stage of a line ("I: Retrieving libc6" -> "I: Retrieving")."""
    return " ".join(line.split()[:2])


@dataclass(frozen=True)
class BuildStep:
    """A step of the offline build and its two ways to fail, each said in one full sentence (a step's
    name glued into a shared sentence would not translate)."""

    missing: str  #: its program is not installed: {program}, and the {package} that installs it
    failed: str  #: it exited with another code than 0: {command}, {code} and its {last} lines


MAVEN_STEP = BuildStep(
    N_("Downloading the Pulsar distribution with Maven failed: `{program}` is not installed. Install it "
       "(Debian/Ubuntu: `sudo apt-get install {package}`) and run `geolab image build` again."),
    N_("Downloading the Pulsar distribution with Maven failed: `{command}` exited with {code}; expected 0. Fix the "
       "cause its last lines name (network, disk space, mirror) and run `geolab image build` again.\nLast "
       "lines:\n{last}"))
DEBOOTSTRAP_STEP = BuildStep(
    N_("debootstrap of the Debian base failed: `{program}` is not installed. Install it (Debian/Ubuntu: `sudo "
       "apt-get install {package}`) and run `geolab image build` again."),
    N_("debootstrap of the Debian base failed: `{command}` exited with {code}; expected 0. Fix the cause its last "
       "lines name (network, disk space, mirror) and run `geolab image build` again.\nLast lines:\n{last}"))
PACK_STEP = BuildStep(
    N_("Packing the Debian root filesystem failed: `{program}` is not installed. Install it (Debian/Ubuntu: `sudo "
       "apt-get install {package}`) and run `geolab image build` again."),
    N_("Packing the Debian root filesystem failed: `{command}` exited with {code}; expected 0. Fix the cause its "
       "last lines name (network, disk space, mirror) and run `geolab image build` again.\nLast lines:\n{last}"))


def _run(command: list[str], step: BuildStep, progress: Progress, condense: bool = False) -> None:
    """Run a build step, its output shown as it comes; `condense` shows the first line of each stage
    of debootstrap's output, a count every 40 packages, and every warning or error, instead of one
    line per package."""
    progress(f"$ {' '.join(command)}")
    tail: list[str] = []
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace") as process:
            seen: dict[str, int] = {}
            for raw in process.stdout or ():
                line = raw.rstrip()
                tail = [*tail[-29:], line]
                stage = _stage(line)
                seen[stage] = seen.get(stage, 0) + 1
                if not condense or line.startswith(("W:", "E:")) or seen[stage] == 1:
                    progress(f"  {line}")
                elif seen[stage] % 40 == 0:
                    progress("  " + _("{stage} ... ({count} so far)").format(stage=stage, count=seen[stage]))
        code = process.returncode
    except FileNotFoundError as exc:
        raise ImageError(_(step.missing).format(
            program=command[0], package="maven" if command[0] == "mvn" else command[0])) from exc
    if code != 0:
        raise ImageError(_(step.failed).format(command=" ".join(command), code=code, last="\n".join(tail)))


def cache_folder(settings: LabSettings, *parts: str) -> Path:
    """A folder under GEOLAB_CACHE, created (with its parents) when missing.

    Raises:
        ImageError: it cannot be created (permissions, a file in the way, a read-only disk).
    """
    folder = settings.cache_dir.joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageError(_("Cannot create the cache folder {folder}: {error}. Expected a writable folder; set "
                           "GEOLAB_CACHE to one (for example GEOLAB_CACHE=$HOME/.cache/geolab).").format(
            folder=folder, error=exc.strerror or exc)) from exc
    return folder


def maven_repository(settings: LabSettings) -> Path:
    """Maven's local repository for the image build: inside GEOLAB_CACHE, so an empty cache means a
    first run (Maven still reads the user's settings.xml, mirrors and proxies included)."""
    return cache_folder(settings, "maven")


def distribution_path(settings: LabSettings) -> Path:
    """Where Maven keeps the Pulsar distribution in the lab's local repository."""
    group, artifact, version, packaging, classifier = DISTRIBUTION_ARTIFACT.split(":")
    return (settings.cache_dir / "maven" / Path(*group.split(".")) / artifact / version
            / f"{artifact}-{version}-{classifier}.{packaging}")


def fetch_distribution(settings: LabSettings, progress: Progress) -> Path:
    """Download Pulsar's binary distribution from Maven Central into the cache (Maven checks checksums)."""
    tarball = distribution_path(settings)
    if tarball.exists():
        progress(_("Pulsar {version} distribution: cached at {path}").format(version=PULSAR_VERSION, path=tarball))
        return tarball
    repository = maven_repository(settings)
    progress(_("Downloading {artifact} from Maven Central (about 245 MB) into {repository} ...").format(
        artifact=DISTRIBUTION_ARTIFACT, repository=repository))
    _run(
        ["mvn", "-B", "-q", "--no-transfer-progress", "-Dstyle.color=never", "--strict-checksums",
         f"-Dmaven.repo.local={repository}",
         "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get",
         f"-Dartifact={DISTRIBUTION_ARTIFACT}", "-Dtransitive=false"],
        MAVEN_STEP,
        progress,
    )
    if not tarball.exists():
        raise ImageError(_("Maven finished but {path} is missing; expected the distribution there. Check the Maven "
                           "output above, then run `geolab image build` again.").format(path=tarball))
    return tarball


def _apt_source_entries(root: Path) -> Iterator[tuple[list[str], list[str], list[str]]]:
    """(types, URIs, suites) of every apt source of the host, one-line and deb822 formats."""
    sources = root / "etc" / "apt"
    one_line = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*.list"))]
    for path in one_line:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()  # drop [options]
            if len(words) >= 3:
                yield [words[0]], [words[1]], [words[2]]
    for path in sorted((sources / "sources.list.d").glob("*.sources")):
        try:
            stanzas = path.read_text(encoding="utf-8", errors="replace").split("\n\n")
        except OSError:
            continue
        for stanza in stanzas:
            fields: dict[str, list[str]] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, _colon, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
            if fields.get("enabled", ["yes"])[0].lower() == "no":
                continue
            yield fields.get("types", []), fields.get("uris", []), fields.get("suites", [])


def host_debian_mirror(root: Path = Path("/")) -> str | None:
    """The Debian mirror this host's apt already uses (its main archive, not security or updates);
    None when the host has none (not Debian, or no readable sources)."""
    for types, uris, suites in _apt_source_entries(root):
        if "deb" not in types or not any(s in DEBIAN_RELEASES for s in suites):
            continue
        for uri in uris:
            if "security" not in uri and re.match(r"^(https?|file)://", uri):
                return uri.rstrip("/")
    return None


def debian_mirror(settings: LabSettings) -> str | None:
    """GEOLAB_DEBIAN_MIRROR, else the host's apt mirror, else None (debootstrap's own default)."""
    return settings.debian_mirror or host_debian_mirror()


def ensure_base_image(client: docker.DockerClient, settings: LabSettings, progress: Progress) -> str:
    """A JRE base image: a pulled JRE image when a registry answers, else Debian made by debootstrap."""
    for name in (DEBIAN_BASE_IMAGE, JRE_BASE_IMAGE):
        if _present(client, name):
            progress(_("Base image: {name} (present)").format(name=name))
            return name
    try:
        pull_with_progress(client, JRE_BASE_IMAGE, progress)
        return JRE_BASE_IMAGE
    except ImageError as exc:
        progress(_("No JRE image from a registry ({reason}); using debootstrap.").format(
            reason=str(exc).splitlines()[0][:120]))
    return ensure_debian_base(client, settings, progress)


def ensure_debian_base(client: docker.DockerClient, settings: LabSettings, progress: Progress) -> str:
    """The Debian base made by debootstrap, with today's package list (built again when an older one
    lacks packages, such as python3-venv, which the kernel image needs)."""
    try:
        present = client.images.get(DEBIAN_BASE_IMAGE)
    except ImageNotFound:
        present = None
    if present is not None and present.labels.get(LABEL_BASE_PACKAGES) == DEBIAN_PACKAGES:
        return DEBIAN_BASE_IMAGE
    if present is not None:
        progress(_("{image} lacks some of {packages}; building it again.").format(
            image=DEBIAN_BASE_IMAGE, packages=DEBIAN_PACKAGES))
    if os.geteuid() != 0:
        raise ImageError(_("Building the Debian base image needs root (debootstrap); this process is not root. Run "
                           "`sudo make image`, or pull {jre} or {official} where a registry is reachable.").format(
            jre=JRE_BASE_IMAGE, official=OFFICIAL_IMAGE))
    work = cache_folder(settings, "work")
    debs = cache_folder(settings, "debs")
    mirror = debian_mirror(settings)
    rootfs = Path(tempfile.mkdtemp(prefix="geolab-rootfs-", dir=work))
    archive = rootfs.with_suffix(".tar")
    try:
        if mirror:
            progress(_("debootstrap: Debian {suite} + {packages} from {mirror} into {folder} (a few minutes) "
                       "...").format(suite=DEBIAN_SUITE, packages=DEBIAN_PACKAGES, mirror=mirror, folder=rootfs))
        else:
            progress(_("debootstrap: Debian {suite} + {packages} from debootstrap default mirror into {folder} (a few "
                       "minutes) ...").format(suite=DEBIAN_SUITE, packages=DEBIAN_PACKAGES, folder=rootfs))
        _run(
            ["debootstrap", "--variant=minbase", f"--include={DEBIAN_PACKAGES}", f"--cache-dir={debs}",
             DEBIAN_SUITE, str(rootfs), *([mirror] if mirror else [])],
            DEBOOTSTRAP_STEP,
            progress,
            condense=True,
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / leftover).glob("*"):
                if item.is_file():
                    item.unlink()
        _run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], PACK_STEP, progress)
        progress(_("Importing {archive} into Docker as {image} (docker import) ...").format(
            archive=archive, image=DEBIAN_BASE_IMAGE))
        repository, tag = DEBIAN_BASE_IMAGE.split(":")
        client.api.import_image_from_file(
            str(archive), repository=repository, tag=tag,
            changes=[
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64",
                "ENV LANG=C.UTF-8",
                f'LABEL {LABEL_BASE_PACKAGES}="{DEBIAN_PACKAGES}"',
                'CMD ["bash"]',
            ],
        )
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
        archive.unlink(missing_ok=True)
    if not _present(client, DEBIAN_BASE_IMAGE):
        raise ImageError(_("docker import finished but {image} is not on the engine; expected it there. Check "
                           "`docker images` and the engine's log, then run `geolab image build` again.").format(
            image=DEBIAN_BASE_IMAGE))
    return DEBIAN_BASE_IMAGE


def docker_build(client: docker.DockerClient, context: Path, tag: str, progress: Progress,
                 buildargs: dict[str, str], labels: dict[str, str], dockerfile: str = "Dockerfile") -> None:
    """`docker build` of a prepared context with the engine's own builder (it sees local images and
    pulls nothing), its steps shown as progress.

    Raises:
        ImageError: a step failed, or the engine refused the build.
    """
    progress(_("Building {tag} ...").format(tag=tag))
    try:
        stream = client.api.build(path=str(context), dockerfile=dockerfile, tag=tag, rm=True, forcerm=True,
                                  decode=True, buildargs=buildargs, labels=labels)
        for event in stream:
            if "error" in event:
                raise ImageError(_("Building {tag} failed: {error}. Read the build steps above, then run `geolab "
                                   "image build` again.").format(tag=tag, error=event["error"].strip()))
            text = str(event.get("stream", "")).strip()
            if text.startswith("Step ") or text.startswith("Successfully"):
                progress(f"  {text}")
    except APIError as exc:
        raise ImageError(_("The Docker engine refused to build {tag}: {error}. Check `docker info` and free disk "
                           "space, then run `geolab image build` again.").format(
            tag=tag, error=exc.explanation or exc)) from exc


def _recipe(base_id: str) -> str:
    digest = hashlib.sha256()
    for part in (PULSAR_VERSION, base_id):
        digest.update(part.encode())
    files = image_files()
    for name in IMAGE_FILES:
        digest.update((files / name).read_bytes())
    return digest.hexdigest()[:16]


def build_image(client: docker.DockerClient, settings: LabSettings, progress: Progress) -> str:
    """Build LOCAL_IMAGE offline; a second build with nothing changed returns in seconds."""
    files = image_files()
    base = ensure_base_image(client, settings, progress)
    recipe = _recipe(client.images.get(base).id)
    try:
        current = client.images.get(LOCAL_IMAGE)
        if current.labels.get(LABEL_RECIPE) == recipe:
            progress(_("{image} is up to date (recipe {recipe}).").format(image=LOCAL_IMAGE, recipe=recipe))
            return LOCAL_IMAGE
    except ImageNotFound:
        pass
    tarball = fetch_distribution(settings, progress)
    with tempfile.TemporaryDirectory(prefix="geolab-build-", dir=cache_folder(settings, "work")) as context:
        ctx = Path(context)
        inside = ctx / f"apache-pulsar-{PULSAR_VERSION}-bin.tar.gz"
        try:
            os.link(tarball, inside)
        except OSError:
            shutil.copy2(tarball, inside)
        for name in IMAGE_FILES:
            target = ctx / name
            target.write_bytes((files / name).read_bytes())
            target.chmod(0o755 if name.endswith(".py") else 0o644)
        docker_build(client, ctx, LOCAL_IMAGE, progress,
                     buildargs={"BASE_IMAGE": base, "PULSAR_VERSION": PULSAR_VERSION},
                     labels={LABEL_RECIPE: recipe, "org.opencontainers.image.version": PULSAR_VERSION})
    return LOCAL_IMAGE
