"""The kernel image a graded submission runs in, built offline on the Pulsar image's Debian base.

Nothing in the build reaches a registry or a package index: the host's pip downloads every wheel
the kernel needs into GEOLAB_CACHE (a registry download a new machine repeats the same way), and the
build installs them with `--no-index`. The installed `labs` and `checks` packages are copied in as
they are, so the sandbox runs exactly the grader's code; a change of either rebuilds the image
(the dependency layer stays cached).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from docker.errors import ImageNotFound

import docker
from labs.errors import ImageError
from labs.i18n import N_, _
from labs.image import LABEL_RECIPE, cache_folder, docker_build, ensure_debian_base, image_files
from labs.settings import LabSettings

Progress = Callable[[str], None]

PACKAGE = "pulsar-geolab"
KERNEL_DOCKERFILE = "Dockerfile.kernel"
#: What a kernel never needs of the package's dependencies.
NOT_IN_KERNEL = frozenset({"jupyterlab", "jupyterlab-language-pack-zh-CN"})
#: What stays out of the sandbox: the image files, the course notebooks (their collapsed solutions),
#: the reference solutions and the editions built from them, and the grader itself (batch grading,
#: the CLI, the sandbox's host side, the workshop's lab server and hub).
LEFT_OUT = ("labs/dockerfiles", "labs/notebooks", "checks/solutions", "checks/editions.py", "checks/cli.py",
            "checks/engine/batch.py",
            "checks/sandbox/image.py", "checks/sandbox/provisioner.py", "checks/sandbox/run.py",
            "checks/sandbox/trusted.py", "checks/sandbox/reference.py", "checks/workshop")


#: What a wheel download says, for each image whose wheels it fetches (whole sentences, one set an image).
WHEELS_FOR = {
    "kernel": (N_("Downloading the kernel's requirements ({count}) as wheels into {folder} ..."),
               N_("pip could not download the kernel's wheels (exit {code}); expected every one of {requirements} "
                  "for Python 3.11. Check pip's access to its index, then run `geolab image build` again.\n"
                  "Last lines:\n{last}")),
    "singleuser": (N_("Downloading the requirements of JupyterLab and JupyterHub's single-user server ({count}) as "
                      "wheels into {folder} ..."),
                   N_("pip could not download the wheels of JupyterLab and JupyterHub's single-user server (exit "
                      "{code}); expected every one of {requirements} for Python 3.11. Check pip's access to its index, "
                      "then run `geolab workshop image` again.\nLast lines:\n{last}")),
}


def kernel_image_name() -> str:
    return f"geolab/kernel:{importlib.metadata.version(PACKAGE)}"


def _name(requirement: str) -> str:
    for stop in "<>=!~;[ ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip()


def kernel_requirements() -> list[str]:
    """The package's runtime dependencies (no extras, no JupyterLab) and ipykernel, each pinned to the
    version installed here, so the sandbox runs what the grader runs."""
    names = {_name(r) for r in importlib.metadata.requires(PACKAGE) or () if "extra ==" not in r}
    names = (names - NOT_IN_KERNEL) | {"ipykernel"}
    return sorted(f"{name}=={importlib.metadata.version(name)}" for name in names)


def _package_roots() -> list[Path]:
    import checks
    import labs

    return [Path(labs.__file__).parent, Path(checks.__file__).parent]


def _site_files() -> list[tuple[Path, Path]]:
    """(source, path inside site/) for every file of the two packages, the left-out folders excluded."""
    found: list[tuple[Path, Path]] = []
    for root in _package_roots():
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root.parent)
            text = relative.as_posix()
            left_out = any(text == gone or text.startswith(gone + "/") for gone in LEFT_OUT)
            if path.is_file() and not left_out and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                found.append((path, relative))
    return found


def recipe(base_id: str, requirements: list[str], dockerfile: bytes, files: Iterable[tuple[str, bytes]]) -> str:
    """What an image is built from, as one short digest (its label; a change of any input rebuilds it)."""
    digest = hashlib.sha256()
    for part in (base_id, *requirements):
        digest.update(part.encode())
    digest.update(dockerfile)
    for name, data in files:
        digest.update(name.encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def _contents(files: list[tuple[Path, Path]]) -> Iterator[tuple[str, bytes]]:
    for source, relative in files:
        yield str(relative), source.read_bytes()


def _platform_tags() -> list[str]:
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower())
    if machine is None:
        raise ImageError(_("The kernel image is built for x86_64 or aarch64; this machine is {machine}. Grade on an "
                           "x86_64 or arm64 host.").format(machine=platform.machine()))
    return [f"manylinux_2_{minor}_{machine}" for minor in range(36, 16, -1)] + [f"manylinux2014_{machine}"]


def download_wheels(requirements: list[str], settings: LabSettings, progress: Progress,
                    folder: str = "kernel-wheels", constraints: list[str] | None = None,
                    image: str = "kernel") -> Path:
    """Every wheel `requirements` need, for Debian bookworm's Python 3.11, into GEOLAB_CACHE/`folder`
    (within `constraints`, pinned versions, where given), for `image` (a key of `WHEELS_FOR`: what the
    messages name)."""
    downloading, failed = WHEELS_FOR[image]
    target = cache_folder(settings, folder)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
               "--dest", str(target)]
    for tag in _platform_tags():
        command += ["--platform", tag]
    progress(_(downloading).format(count=len(requirements), folder=target))
    with tempfile.TemporaryDirectory(prefix="geolab-pins-") as pins:
        if constraints:
            (Path(pins) / "constraints.txt").write_text("\n".join(constraints) + "\n")
            command += ["-c", str(Path(pins) / "constraints.txt")]
        result = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if result.returncode != 0:
        last = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ImageError(_(failed).format(code=result.returncode, requirements=requirements, last=last))
    return target


def link_wheels(wheels: Path, context: Path) -> None:
    """The downloaded wheels into a build context's wheels/ (hard links where the disk allows)."""
    (context / "wheels").mkdir()
    for wheel in wheels.glob("*.whl"):
        try:
            os.link(wheel, context / "wheels" / wheel.name)
        except OSError:
            shutil.copy2(wheel, context / "wheels" / wheel.name)


def kernel_image_current(client: docker.DockerClient) -> bool:
    """The kernel image exists and was built from today's packages, base and dependencies."""
    from labs.image import DEBIAN_BASE_IMAGE

    try:
        base = client.images.get(DEBIAN_BASE_IMAGE)
        image = client.images.get(kernel_image_name())
    except ImageNotFound:
        return False
    dockerfile = (image_files() / KERNEL_DOCKERFILE).read_bytes()
    return bool(image.labels.get(LABEL_RECIPE) == recipe(base.id, kernel_requirements(), dockerfile,
                                                         _contents(_site_files())))


def up_to_date(client: docker.DockerClient, name: str, wanted: str, progress: Progress) -> bool:
    """The image `name` exists and carries the recipe `wanted` (then it is not built again)."""
    try:
        current = client.images.get(name).labels.get(LABEL_RECIPE) == wanted
    except ImageNotFound:
        return False
    if current:
        progress(_("{name} is up to date (recipe {recipe}).").format(name=name, recipe=wanted))
    return bool(current)


def build_kernel_image(client: docker.DockerClient, settings: LabSettings, progress: Progress) -> str:
    """Build the kernel image (a second build with nothing changed returns in seconds).

    Raises:
        ImageError: the base, the wheels or the build failed.
    """
    name = kernel_image_name()
    dockerfile = (image_files() / KERNEL_DOCKERFILE).read_bytes()
    base = ensure_debian_base(client, settings, progress)
    requirements = kernel_requirements()
    files = _site_files()
    wanted = recipe(client.images.get(base).id, requirements, dockerfile, _contents(files))
    if up_to_date(client, name, wanted, progress):
        return name
    wheels = download_wheels(requirements, settings, progress)
    with tempfile.TemporaryDirectory(prefix="geolab-kernel-", dir=cache_folder(settings, "work")) as context:
        ctx = Path(context)
        (ctx / KERNEL_DOCKERFILE).write_bytes(dockerfile)
        (ctx / "requirements.txt").write_text("\n".join(requirements) + "\n")
        link_wheels(wheels, ctx)
        for source, relative in files:
            target = ctx / "site" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        docker_build(client, ctx, name, progress, buildargs={"BASE_IMAGE": base},
                     labels={LABEL_RECIPE: wanted}, dockerfile=KERNEL_DOCKERFILE)
    return name
