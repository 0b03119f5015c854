"""The course notebooks as the package ships them (a wheel or a checkout alike), in the learner's
language, and copying them into a learner's folder.

`labs/notebooks` is the repository's notebooks/ folder; a wheel carries it as package data: the
English course in it, the Chinese course (built from it, `checks.editions`) in its zh/ folder.

    python -m labs.course --folder [BASE]   prints the course folder of the current language
                                            (BASE or BASE/zh; `make lab` opens it)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from labs.errors import LabNotFoundError, UsageError
from labs.i18n import LANGUAGES, _, language


def _language(lang: str | None) -> str:
    chosen = language() if lang is None else lang
    if chosen not in LANGUAGES:
        raise UsageError(_("No course in {lang!r}; expected one of {languages}.").format(
            lang=chosen, languages=list(LANGUAGES)))
    return chosen


def course_folder(base: str = "notebooks", lang: str | None = None) -> str:
    """The folder of `lang`'s course under `base` (English: `base` itself; Chinese: `base`/zh)."""
    chosen = _language(lang)
    return base if chosen == "en" else f"{base.rstrip('/')}/{chosen}"


def course_notebooks(lang: str | None = None) -> list[Path]:
    """The course notebooks shipped in the package (a wheel or a checkout alike), in `lang` (default:
    the current language, `labs.i18n.language()`).

    Raises:
        UsageError: `lang` is not a language of the course.
        LabNotFoundError: the package carries no notebooks in that language.
    """
    chosen = _language(lang)
    folder = resources.files("labs") / "notebooks"
    if chosen != "en":
        folder = folder / chosen
    found = sorted(Path(str(item)) for item in folder.iterdir() if item.name.endswith(".ipynb")) \
        if folder.is_dir() else []
    if not found:
        raise LabNotFoundError(_(
            "The installed geolab package carries no notebooks in {lang!r} (expected *.ipynb in {folder}). "
            "Reinstall it: `pip install --force-reinstall pulsar-geolab` (or `make install` in a checkout)."
        ).format(lang=chosen, folder=folder))
    return found


def copy_notebooks(target: Path, force: bool = False, lang: str | None = None) -> list[Path]:
    """Copy the course notebooks of `lang` (default: the current language) into `target` (created);
    existing ones are kept unless `force`.

    Raises:
        UsageError: `target` is a file, or it already holds the notebooks and `force` is off.
    """
    if target.exists() and not target.is_dir():
        raise UsageError(_("{target} is a file; expected a folder for the notebooks. Choose another path.").format(
            target=target))
    notebooks = course_notebooks(lang)
    clashes = [p.name for p in notebooks if (target / p.name).exists()]
    if clashes and not force:
        raise UsageError(_(
            "{target} already holds {clashes}; expected a folder without them, so no work of yours is overwritten. "
            "Open that folder with `jupyter lab`, choose another folder, or pass --force to replace them."
        ).format(target=target, clashes=clashes))
    try:
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for source in notebooks:
            shutil.copyfile(source, target / source.name)
            copied.append(target / source.name)
    except OSError as exc:
        raise UsageError(_("Cannot write the notebooks into {target}: {reason}. Choose a folder you can write to.")
                         .format(target=target, reason=exc.strerror or exc)) from exc
    return copied


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.course",
                                     description=_("The course notebooks of the current language (GEOLAB_LANG, "
                                                   "or the locale)."))
    parser.add_argument("--folder", nargs="?", const="notebooks", metavar="BASE", required=True,
                        help=_("print the course folder under BASE (default: notebooks): BASE in English, BASE/zh "
                               "in Chinese"))
    parser.add_argument("--lang", choices=LANGUAGES, help=_("this language instead of the current one"))
    args = parser.parse_args(argv)
    print(course_folder(args.folder, args.lang))
    return 0


if __name__ == "__main__":
    sys.exit(main())
