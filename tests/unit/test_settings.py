"""Settings are read when asked, checked, and a bad value names itself and the expected form."""

from __future__ import annotations

from pathlib import Path

import pytest

from labs.errors import SettingsError
from labs.settings import DEFAULT_GC, DEFAULT_MEMORY, load_settings


def test_defaults_when_nothing_is_set() -> None:
    settings = load_settings({})
    assert settings.image is None and settings.start_timeout_s == 240
    assert (settings.broker_memory, settings.broker_gc) == (DEFAULT_MEMORY, DEFAULT_GC)
    assert settings.cache_dir == Path.home() / ".cache" / "geolab"
    assert settings.lab_prefix == "" and settings.keep_labs is False and settings.debian_mirror is None


def test_values_are_read() -> None:
    settings = load_settings({
        "GEOLAB_PULSAR_IMAGE": "apachepulsar/pulsar:4.0.8", "GEOLAB_START_TIMEOUT": "400",
        "GEOLAB_PULSAR_MEM": "-Xmx512m", "GEOLAB_CACHE": "/var/cache/geolab", "GEOLAB_LAB_PREFIX": "grade3-",
        "GEOLAB_KEEP_LABS": "yes", "GEOLAB_DEBIAN_MIRROR": "http://mirror.example/debian/",
    })
    assert settings.image == "apachepulsar/pulsar:4.0.8" and settings.start_timeout_s == 400
    assert settings.broker_memory == "-Xmx512m" and settings.cache_dir == Path("/var/cache/geolab")
    assert settings.lab_prefix == "grade3-" and settings.keep_labs is True
    assert settings.debian_mirror == "http://mirror.example/debian"


def test_settings_are_not_read_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_START_TIMEOUT", "123")
    assert load_settings().start_timeout_s == 123


@pytest.mark.parametrize("name,value", [
    ("GEOLAB_START_TIMEOUT", "nan"), ("GEOLAB_START_TIMEOUT", "1e9"), ("GEOLAB_START_TIMEOUT", "0.5"),
    ("GEOLAB_KEEP_LABS", "2"), ("GEOLAB_PULSAR_IMAGE", "UPPER/case:tag"), ("GEOLAB_PULSAR_GC", "SerialGC"),
    ("GEOLAB_LAB_PREFIX", "-starts-with-dash"), ("GEOLAB_DEBIAN_MIRROR", "ftp://old.example/debian"),
])
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name) as info:
        load_settings({name: value})
    assert "expected" in str(info.value)


def test_cache_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match="is a file"):
        load_settings({"GEOLAB_CACHE": str(tmp_path / "file")})
