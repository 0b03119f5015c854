"""The course notebooks as the package ships them (a wheel or a checkout alike), and copying them
into a learner's folder.

`labs/notebooks` is the repository's notebooks/ folder; a wheel carries it as package data.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from labs.errors import LabNotFoundError, UsageError


def course_notebooks() -> list[Path]:
    """The course notebooks shipped in the package (a wheel or a checkout alike)."""
    folder = resources.files("labs") / "notebooks"
    found = sorted(Path(str(item)) for item in folder.iterdir() if item.name.endswith(".ipynb"))
    if not found:
        raise LabNotFoundError(
            f"The installed geolab package carries no notebooks (expected *.ipynb in {folder}). "
            "Reinstall it: `pip install --force-reinstall pulsar-geolab` (or `make install` in a checkout)."
        )
    return found


def copy_notebooks(target: Path, force: bool = False) -> list[Path]:
    """Copy the course notebooks into `target` (created); existing ones are kept unless `force`.

    Raises:
        UsageError: `target` is a file, or it already holds the notebooks and `force` is off.
    """
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file; expected a folder for the notebooks. Choose another path.")
    notebooks = course_notebooks()
    clashes = [p.name for p in notebooks if (target / p.name).exists()]
    if clashes and not force:
        raise UsageError(
            f"{target} already holds {clashes}; expected a folder without them, so no work of yours is overwritten. "
            "Open that folder with `jupyter lab`, choose another folder, or pass --force to replace them."
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for source in notebooks:
            shutil.copyfile(source, target / source.name)
            copied.append(target / source.name)
    except OSError as exc:
        raise UsageError(f"Cannot write the notebooks into {target}: {exc.strerror or exc}. "
                         "Choose a folder you can write to.") from exc
    return copied
