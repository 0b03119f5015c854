"""The learner's language: chosen per call (a thread's `using`, GEOLAB_LANG, the locale, English),
refused when unknown, and messages read from the packaged gettext catalog."""

from __future__ import annotations

import io
import threading

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from labs import i18n
from labs.errors import SettingsError
from labs.i18n import _, configured_language, language, locale_language, ngettext, using
from labs.settings import load_settings


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANGUAGE": "zh_CN:en_US", "LANG": "en_US.UTF-8"}, "zh"),  # gettext's order: LANGUAGE first
    ({"LC_ALL": "POSIX", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
])
def test_the_locale_chooses_when_geolab_lang_is_unset(env: dict[str, str], expected: str) -> None:
    assert locale_language(env) == expected


@pytest.mark.parametrize(("value", "expected"), [("zh", "zh"), ("zh_CN", "zh"), ("zh-CN", "zh"), ("zh_Hans", "zh"),
                                                 ("zh_CN.UTF-8", "zh"), ("en", "en"), ("EN", "en"), ("", None)])
def test_geolab_lang_names_a_language(value: str, expected: str | None) -> None:
    assert configured_language({"GEOLAB_LANG": value}) == expected


def test_an_unknown_geolab_lang_is_refused_before_anything_starts_and_messages_stay_english(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_LANG", "fr")
    with pytest.raises(SettingsError, match="GEOLAB_LANG='fr' is not a language of the course; expected en or zh"):
        load_settings()
    assert language() == "en"  # a message never fails for its language


def test_geolab_lang_wins_over_the_locale_and_using_over_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("GEOLAB_LANG", "en")
    assert language() == "en" and load_settings().language == "en"
    with using("zh"):
        assert language() == "zh"
        with using("en"):
            assert language() == "en"
        assert language() == "zh"
    assert language() == "en"
    with pytest.raises(SettingsError, match="expected one of"):
        with using("fr"):
            pass


def test_using_holds_in_its_own_thread_only() -> None:
    seen: list[str] = []
    with using("zh"):
        other = threading.Thread(target=lambda: seen.append(language()))
        other.start()
        other.join()
        assert language() == "zh"
    assert seen == ["en"]  # the trusted side sets each request's language in the thread that serves it


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A zh catalog with two messages, in place of the packaged one."""
    messages = Catalog(locale="zh_CN")
    messages.add("Lab {name!r} stopped.", "实验环境 {name!r} 已停止。")
    messages.add(("{count} cluster", "{count} clusters"), ("{count} 个集群",))
    buffer = io.BytesIO()
    write_mo(buffer, messages)
    buffer.seek(0)
    translations = i18n.gettext.GNUTranslations(buffer)
    monkeypatch.setattr(i18n, "catalog", lambda lang: translations if lang == "zh" else i18n.gettext.NullTranslations())


def test_messages_are_read_in_the_current_language(catalog: None) -> None:
    assert _("Lab {name!r} stopped.").format(name="welcome") == "Lab 'welcome' stopped."
    with using("zh"):
        assert _("Lab {name!r} stopped.").format(name="welcome") == "实验环境 'welcome' 已停止。"
        assert ngettext("{count} cluster", "{count} clusters", 3).format(count=3) == "3 个集群"
        assert _("A text nobody translated yet.") == "A text nobody translated yet."  # English stands in


def test_the_packaged_chinese_catalog_loads() -> None:
    i18n.catalog.cache_clear()
    translations = i18n.catalog("zh")
    assert isinstance(translations, i18n.gettext.GNUTranslations)
    assert translations.info()["language"] == "zh_CN"


def test_a_chinese_learner_reads_a_topology_error_in_chinese() -> None:
    from labs.errors import TopologyError
    from labs.topology import full_mesh

    i18n.catalog.cache_clear()
    with using("zh"), pytest.raises(TopologyError, match="全网状复制至少需要两个集群；现在是 \\['beijing'\\]"):
        full_mesh("beijing")
    with pytest.raises(TopologyError, match="A full mesh needs at least two clusters"):
        full_mesh("beijing")


def test_a_bad_geolab_lang_is_said_in_the_locales_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("GEOLAB_LANG", "fr")
    i18n.catalog.cache_clear()
    with pytest.raises(SettingsError, match="GEOLAB_LANG='fr' 不是本课程的语言；应为 en 或 zh"):
        load_settings()
    monkeypatch.setenv("GEOLAB_LANG", "zh")
    monkeypatch.setenv("GEOLAB_START_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match="GEOLAB_START_TIMEOUT='soon' 不是 1 到 3600 之间的秒数"):
        load_settings()


def test_the_doctor_speaks_chinese_and_keeps_its_checks_keys(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from labs import cli
    from labs.doctor import DoctorReport, Finding

    findings = [Finding("memory", "ok", "1 GiB"), Finding("ports", "fail", "taken", "pick another")]
    monkeypatch.setattr(cli, "diagnose", lambda clusters, base_port: findings)
    i18n.catalog.cache_clear()
    with using("zh"):
        assert cli.main(["doctor", "--clusters", "1"]) == 1
        html = DoctorReport(tuple(findings))._repr_html_()
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[:2] == ["检查项", "结果"]
    assert "内存" in printed and "发现 1 个问题。" in printed
    lines = printed.splitlines()
    column = cli._width  # a Chinese character takes two columns of a terminal
    assert column(lines[1][:lines[1].index("ok")]) == column(lines[0][:lines[0].index("结果")])  # lined up
    assert "<td>端口</td>" in html and [f.check for f in findings] == ["memory", "ports"]


def test_a_chinese_learner_reads_a_port_error_in_chinese() -> None:
    from labs.cluster import allocate_ports
    from labs.errors import PortInUseError

    i18n.catalog.cache_clear()
    with using("zh"), pytest.raises(PortInUseError, match="base_port=8000 给集群 'beijing' 分配的 broker 端口 8000 是 "
                                                          "Pulsar 在其容器内部使用的端口"):
        allocate_ports(["beijing", "shanghai"], 8000)
    with pytest.raises(PortInUseError, match="which Pulsar uses inside its container"):
        allocate_ports(["beijing", "shanghai"], 8000)
