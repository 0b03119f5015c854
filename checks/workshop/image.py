"""The workshop learner's image: JupyterHub's single-user server and JupyterLab on the kernel image.

Built offline like the kernel image (checks/sandbox/image.py): the host's pip downloads the wheels
into GEOLAB_CACHE, pinned to the kernel venv's own versions, and the build installs them with
`--no-index`. The image carries the course notebooks in the workshop's edition: self-paced (with
collapsed reference solutions and `solve()`) or graded (neither), a whole course in each language
(/opt/geolab-notebooks/<lang>/: the lessons translated so far, the English ones of the others); a new
learner's server copies those of its GEOLAB_LANG (`geolab workshop up --lang`).
"""

from __future__ import annotations

import importlib.metadata
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat
from docker.errors import ImageNotFound

import docker
from checks.sandbox.image import (
    build_kernel_image,
    download_wheels,
    kernel_requirements,
    link_wheels,
    recipe,
    up_to_date,
)
from labs.course import course_notebooks
from labs.errors import LabNotFoundError, UsageError
from labs.i18n import LANGUAGES, _
from labs.image import LABEL_RECIPE, cache_folder, docker_build, image_files
from labs.settings import LabSettings

Progress = Callable[[str], None]
DOCKERFILE = "Dockerfile.singleuser"
EDITIONS = ("self-paced", "graded")
#: What a learner's server adds to the kernel's venv (pinned to this host's versions).
SERVER_PACKAGES = ("jupyterhub", "jupyterlab", "jupyterlab-language-pack-zh-CN")


def singleuser_image_name(edition: str) -> str:
    return f"geolab/singleuser-{edition}:{importlib.metadata.version('pulsar-geolab')}"


def server_requirements() -> list[str]:
    """jupyterhub and JupyterLab at this host's versions (the hub and the servers speak one version)."""
    try:
        return [f"{name}=={importlib.metadata.version(name)}" for name in SERVER_PACKAGES]
    except importlib.metadata.PackageNotFoundError as exc:
        raise UsageError(_("{package} is not installed here; expected the workshop extra. Install it with `pip "
                           "install 'pulsar-geolab[workshop]'` (or `make install`).").format(package=exc.name)) from exc


def _course(edition: str) -> list[tuple[str, bytes]]:
    """The notebooks (<lang>/<name>, bytes) of the edition a workshop's learners get, a whole course in
    each language: the package's notebooks of that language (`labs.course.course_notebooks`), and the
    English one of a lesson not translated yet (each built in the language it is written in)."""
    from checks.editions import build, exercise_cells

    english = {path.name: path for path in course_notebooks("en")}
    found: list[tuple[str, bytes]] = []
    for lang in LANGUAGES:
        try:
            translated = {path.name: path for path in course_notebooks(lang)} if lang != "en" else english
        except LabNotFoundError:
            translated = {}  # a package without that language: its learners get the English course
        for name in sorted(english):
            data = translated.get(name, english[name]).read_bytes()
            if edition == "graded":
                notebook = nbformat.reads(data.decode(), as_version=4)
                if exercise_cells(notebook):
                    data = nbformat.writes(build(notebook, name[:-len(".ipynb")], "graded")).encode()
            found.append((f"{lang}/{name}", data))
    return found


def _solutions(edition: str) -> list[tuple[str, bytes]]:
    if edition == "graded":
        return []
    import checks.solutions

    folder = Path(checks.solutions.__file__).parent
    return [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.py"))]


def _inputs(client: docker.DockerClient, kernel: str, edition: str) -> tuple[list[str], bytes, list[tuple[str, bytes]],
                                                                             str]:
    if edition not in EDITIONS:
        raise UsageError(_("Workshop edition {edition!r} is unknown; expected one of {editions}.").format(
            edition=edition, editions=list(EDITIONS)))
    requirements = server_requirements()
    dockerfile = (image_files() / DOCKERFILE).read_bytes()
    files = [(f"notebooks/{n}", d) for n, d in _course(edition)] + [(f"solutions/{n}", d) for n, d in
                                                                    _solutions(edition)]
    return requirements, dockerfile, files, recipe(client.images.get(kernel).id, requirements, dockerfile, files)


def singleuser_image_current(client: docker.DockerClient, edition: str = "self-paced") -> bool:
    from checks.sandbox.image import kernel_image_current, kernel_image_name

    if not kernel_image_current(client):
        return False
    try:
        image = client.images.get(singleuser_image_name(edition))
    except ImageNotFound:
        return False
    return bool(image.labels.get(LABEL_RECIPE) == _inputs(client, kernel_image_name(), edition)[3])


def build_singleuser_image(client: docker.DockerClient, settings: LabSettings, progress: Progress,
                           edition: str = "self-paced") -> str:
    """Build the learner's image (and the kernel image under it); a second build with nothing changed
    returns in seconds.

    Raises:
        ImageError: the kernel image, the wheels or the build failed.
        UsageError: an unknown edition, or the workshop extra is not installed.
    """
    kernel = build_kernel_image(client, settings, progress)
    name = singleuser_image_name(edition)
    requirements, dockerfile, files, wanted = _inputs(client, kernel, edition)
    if up_to_date(client, name, wanted, progress):
        return name
    wheels = download_wheels([*requirements, "pip"], settings, progress, "singleuser-wheels", kernel_requirements(),
                             "singleuser")
    with tempfile.TemporaryDirectory(prefix="geolab-singleuser-", dir=cache_folder(settings, "work")) as context:
        ctx = Path(context)
        (ctx / DOCKERFILE).write_bytes(dockerfile)
        (ctx / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (ctx / "constraints.txt").write_text("\n".join(kernel_requirements()) + "\n")
        link_wheels(wheels, ctx)
        (ctx / "notebooks").mkdir()
        (ctx / "solutions").mkdir()
        for relative, data in files:
            (ctx / relative).parent.mkdir(parents=True, exist_ok=True)  # notebooks/<lang>/
            (ctx / relative).write_bytes(data)
        docker_build(client, ctx, name, progress, buildargs={"KERNEL_IMAGE": kernel},
                     labels={LABEL_RECIPE: wanted}, dockerfile=DOCKERFILE)
    return name
