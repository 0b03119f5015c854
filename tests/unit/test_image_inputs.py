"""What the offline image build reads before it runs anything: its files (package data, not the
repository's layout), the Debian mirror (the host's apt sources or debootstrap's default), and where
Maven keeps the distribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from labs.image import IMAGE_FILES, debian_mirror, distribution_path, host_debian_mirror, image_files
from labs.settings import PULSAR_VERSION, load_settings

REPOSITORY = Path(__file__).resolve().parents[2]


def test_image_files_come_from_the_package_and_match_docker_folder() -> None:
    folder = image_files()
    for name in IMAGE_FILES:
        assert (folder / name).read_bytes() == (REPOSITORY / "docker" / name).read_bytes()


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_deb822_sources_give_the_main_archive_not_security(tmp_path: Path) -> None:
    write(tmp_path, "etc/apt/sources.list.d/debian.sources", (
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"))
    assert host_debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_one_line_sources_with_options(tmp_path: Path) -> None:
    write(tmp_path, "etc/apt/sources.list",
          "# deb http://old.example/debian buster main\n"
          "deb [arch=amd64 signed-by=/k.gpg] https://mirror.example/debian trixie main contrib\n")
    assert host_debian_mirror(tmp_path) == "https://mirror.example/debian"


def test_a_host_without_debian_sources_leaves_the_choice_to_debootstrap(tmp_path: Path) -> None:
    write(tmp_path, "etc/apt/sources.list", "deb http://archive.ubuntu.com/ubuntu jammy main\n")
    write(tmp_path, "etc/apt/sources.list.d/node.sources",
          "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n")
    assert host_debian_mirror(tmp_path) is None


def test_disabled_sources_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "etc/apt/sources.list.d/debian.sources",
          "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n")
    assert host_debian_mirror(tmp_path) is None


def test_the_setting_wins_over_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings({"GEOLAB_DEBIAN_MIRROR": "http://setting.example/debian"})
    assert debian_mirror(settings) == "http://setting.example/debian"


def test_maven_keeps_the_distribution_in_the_lab_cache(tmp_path: Path) -> None:
    settings = load_settings({"GEOLAB_CACHE": str(tmp_path)})
    assert distribution_path(settings) == (tmp_path / "maven/org/apache/pulsar/pulsar-server-distribution"
                                           / PULSAR_VERSION / f"pulsar-server-distribution-{PULSAR_VERSION}-bin.tar.gz")
