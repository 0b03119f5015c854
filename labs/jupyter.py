"""JupyterLab itself in the course's language: its menus, dialogs, file browser and launcher.

JupyterLab translates its own interface with a language pack (`jupyterlab-language-pack-zh-CN`, a
dependency of geolab) and takes the language from its translation setting, whose default ("default")
is the server's locale: on most machines that is English, whatever GEOLAB_LANG says.

GeoLab never writes the learner's own JupyterLab settings. It starts JupyterLab with an application
settings folder of its own (`--LabApp.app_settings_dir`): what the installation's folder holds
(page_config.json, overrides.json, overrides.d/), plus one more default in overrides.d/, the
translation setting's `locale`. A default is what a learner's own choice overrides: whoever picks
another language in Settings → Language keeps it, and a learner's own overrides.json still wins.

    python -m labs.jupyter [--lang zh]   prints the JupyterLab options for the course's language
                                         (the workshop's learner servers start with them)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from labs.i18n import LANGUAGES, _, language
from labs.image import cache_folder
from labs.settings import load_settings

#: JupyterLab's locale of each course language that has a language pack (English needs none).
LOCALES: dict[str, str] = {"zh": "zh_CN"}
#: The plugin whose `locale` setting picks JupyterLab's language.
TRANSLATION_PLUGIN = "@jupyterlab/translation-extension:plugin"
#: GeoLab's file among the overrides (overrides.d/ is read in name order, then overrides.json).
OVERRIDE_FILE = "geolab-language.json"
#: What an application settings folder holds that JupyterLab reads when it serves a page.
COPIED = ("page_config.json", "overrides.json", "overrides.json5", "overrides.d")


def language_pack_installed(locale: str) -> bool:
    """Whether JupyterLab can find the language pack of `locale` (its `jupyterlab.languagepack` entry point)."""
    return any(e.name == locale for e in importlib.metadata.entry_points(group="jupyterlab.languagepack"))


def pack_locale(lang: str) -> str | None:
    """JupyterLab's locale for the course language `lang`; None for a language JupyterLab shows without a
    pack (English) or whose pack is not installed (then JupyterLab stays in its default language, and only
    the course is translated)."""
    locale = LOCALES.get(lang)
    return locale if locale is not None and language_pack_installed(locale) else None


def installation_settings() -> Path:
    """The application settings folder of the JupyterLab installed here (`<app dir>/settings`)."""
    from jupyterlab.commands import get_app_dir

    return Path(get_app_dir()) / "settings"


def settings_folder(locale: str, folder: Path, installed: Path | None = None) -> Path:
    """Write `folder`: an application settings folder that starts JupyterLab in `locale` (the installation's
    settings, `installed`, plus that default). It is written afresh each time, so a change to the
    installation's folder reaches it."""
    source = installation_settings() if installed is None else installed
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in COPIED:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, folder / name)
        elif path.is_file():
            shutil.copy2(path, folder / name)
    overrides = folder / "overrides.d"
    overrides.mkdir(exist_ok=True)
    (overrides / OVERRIDE_FILE).write_text(json.dumps({TRANSLATION_PLUGIN: {"locale": locale}}, indent=2) + "\n",
                                           encoding="utf-8")
    return folder


def lab_options(lang: str | None = None) -> list[str]:
    """The `jupyter lab` (or `jupyterhub-singleuser`) options that show JupyterLab in `lang` (the course's
    language when None): none for English, or when the language pack is missing."""
    chosen = lang or language()
    locale = pack_locale(chosen)
    if locale is None:
        return []  # nothing written: JupyterLab starts as installed
    folder = settings_folder(locale, cache_folder(load_settings(), "jupyterlab-settings") / chosen)
    return [f"--LabApp.app_settings_dir={folder}"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.jupyter",
                                     description=_("print the JupyterLab options that show JupyterLab in the "
                                                   "course's language"))
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help=_("the language (default: GEOLAB_LANG, else the locale, else English)"))
    args = parser.parse_args(argv)
    print(" ".join(lab_options(args.lang)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
