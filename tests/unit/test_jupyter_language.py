"""JupyterLab's own menus in the course's language: an application settings folder of GeoLab's own,
never the learner's settings (labs/jupyter.py). A real JupyterLab showing them is
tests/integration/test_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import labs.jupyter
from labs.jupyter import OVERRIDE_FILE, TRANSLATION_PLUGIN, language_pack_installed, pack_locale, settings_folder


def installation(root: Path) -> Path:
    """An installation's settings folder with a page config, an admin's overrides and a package's."""
    (root / "overrides.d").mkdir(parents=True)
    (root / "page_config.json").write_text('{"disabledExtensions": {"x": true}}')
    (root / "overrides.json").write_text(json.dumps({TRANSLATION_PLUGIN: {"locale": "fr_FR"}}))
    (root / "overrides.d" / "theme.json").write_text('{"@jupyterlab/apputils-extension:themes": {"theme": "dark"}}')
    (root / "build_config.json").write_text("{}")  # read by `jupyter lab build`, not by a served page
    return root


def test_the_chinese_folder_keeps_the_installations_settings_and_adds_the_locale(tmp_path: Path) -> None:
    assert language_pack_installed("zh_CN"), "jupyterlab-language-pack-zh-CN is a dependency of geolab"
    assert pack_locale("zh") == "zh_CN"
    folder = settings_folder("zh_CN", tmp_path / "ours" / "zh", installation(tmp_path / "installed"))
    assert folder == tmp_path / "ours" / "zh"
    ours = json.loads((folder / "overrides.d" / OVERRIDE_FILE).read_text())
    assert ours == {TRANSLATION_PLUGIN: {"locale": "zh_CN"}}
    assert (folder / "page_config.json").read_text() == '{"disabledExtensions": {"x": true}}'
    assert (folder / "overrides.d" / "theme.json").exists()
    # the installation's own overrides.json is read after overrides.d/, so an admin's choice still wins
    assert json.loads((folder / "overrides.json").read_text())[TRANSLATION_PLUGIN]["locale"] == "fr_FR"
    assert not (folder / "build_config.json").exists()


def test_the_folder_is_written_afresh(tmp_path: Path) -> None:
    installed = installation(tmp_path / "installed")
    settings_folder("zh_CN", tmp_path / "ours" / "zh", installed)
    (installed / "overrides.d" / "theme.json").unlink()
    folder = settings_folder("zh_CN", tmp_path / "ours" / "zh", installed)
    assert sorted(p.name for p in (folder / "overrides.d").iterdir()) == [OVERRIDE_FILE]


def test_english_and_a_missing_pack_start_jupyterlab_as_installed(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_CACHE", str(tmp_path / "cache"))
    assert pack_locale("en") is None and labs.jupyter.lab_options("en") == []
    monkeypatch.setattr(labs.jupyter, "language_pack_installed", lambda locale: False)
    assert pack_locale("zh") is None and labs.jupyter.lab_options("zh") == []
    assert not (tmp_path / "cache").exists()


def test_lab_options_point_jupyterlab_at_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GEOLAB_LANG", "zh")
    options = labs.jupyter.lab_options()
    assert options == [f"--LabApp.app_settings_dir={tmp_path / 'cache' / 'jupyterlab-settings' / 'zh'}"]
    assert labs.jupyter.lab_options("en") == []
