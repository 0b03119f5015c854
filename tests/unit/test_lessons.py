"""The Chinese course is built from the English one and cannot drift from it: notebooks/zh is what the
build makes of notebooks/ and the lesson catalogs, a zh notebook differs from its English twin only in
Markdown and code comments, a text without its translation stops the build (saying where and how to
fix it), a translation that breaks the Markdown is refused, and the package hands out either course."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from checks.editions import build, exercise_group, notebook_language, solution_for, with_solutions
from checks.errors import GradingError
from checks.exercises import ALL, for_notebook
from checks.lessons import (
    COMMENT,
    MARKDOWN,
    LessonNotTranslated,
    catalog_path,
    code_without_comments,
    pieces,
    read_catalog,
    skeleton_problems,
    translate,
    untranslated,
    update_catalog,
    write_catalog,
)
from checks.solutions import SOLUTIONS
from labs.course import copy_notebooks, course_folder, course_notebooks
from labs.i18n import using
from tools.lessons import apply as apply_translations
from tools.lessons import glossary_slips
from tools.lessons import pending as pending_texts

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHINESE = sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def complete(path: Path) -> bool:
    return not untranslated(read(path), path.stem)


COMPLETE = [p for p in ENGLISH if complete(p)]


def shape(notebook: nbformat.NotebookNode) -> list[tuple[str, str, str, dict[str, object]]]:
    return [(c.cell_type, c.get("id", ""), c.source, dict(c.metadata)) for c in notebook.cells]


@pytest.mark.parametrize("path", COMPLETE, ids=lambda p: p.stem)
def test_committed_chinese_notebooks_are_the_build(path: Path) -> None:
    committed = ROOT / "notebooks" / "zh" / path.name
    assert committed.exists(), f"{path.stem} is translated, but notebooks/zh/{path.name} is missing: make notebooks"
    built = build(read(path), path.stem, "self-paced", "zh")
    notebook = read(committed)
    assert shape(built) == shape(notebook), "run `make notebooks` and commit notebooks/zh"
    assert built.metadata == notebook.metadata


def test_no_chinese_notebook_outlives_its_translation() -> None:
    english = {p.name for p in COMPLETE}
    stale = [p.name for p in CHINESE if p.name not in english]
    assert not stale, f"notebooks/zh holds {stale}, whose lessons are not (or no longer) fully translated: " \
                      "run `make notebooks` (it removes them), or translate them"


def test_every_lesson_is_translated() -> None:
    left = {p.stem: len(untranslated(read(p), p.stem)) for p in ENGLISH}
    assert not {stem: n for stem, n in left.items() if n}, \
        f"texts without their Chinese translation, per lesson: {left}; python -m tools.lessons pending STEM"


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.stem)
def test_a_chinese_notebook_differs_from_its_english_twin_only_in_its_words(path: Path) -> None:
    chinese, english = read(path), read(ROOT / "notebooks" / path.name)
    assert notebook_language(chinese) == "zh" and notebook_language(english) == "en"
    assert "lang" not in english.metadata["geolab"]
    without_lang = {**chinese.metadata, "geolab": {k: v for k, v in chinese.metadata["geolab"].items() if k != "lang"}}
    assert without_lang == english.metadata
    assert [(c.cell_type, c.get("id"), dict(c.metadata)) for c in chinese.cells] == \
           [(c.cell_type, c.get("id"), dict(c.metadata)) for c in english.cells]  # ids, types, tags, exercises
    for zh, en in zip(chinese.cells, english.cells, strict=True):
        if en.cell_type == "code":
            assert code_without_comments(zh.source) == code_without_comments(en.source), (path.name, en.id)
            assert not zh.get("outputs") and zh.get("execution_count") is None
        elif "solution" not in en.metadata.get("tags", []):
            assert zh.source != en.source or not en.source.strip(), f"{path.name}: cell {en.id} is still English"
    exercises = [e.exercise_id for e in for_notebook(path.stem)]
    assert exercises == sorted({c.metadata["geolab"]["exercise"] for c in chinese.cells
                                if "geolab" in c.metadata}, key=exercises.index)


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.stem)
def test_the_chinese_graded_edition_keeps_its_language_and_drops_the_solutions(path: Path) -> None:
    chinese = read(path)
    graded = build(chinese, path.stem, "graded")  # a learner's copy turned graded: it stays Chinese
    assert graded.metadata["geolab"] == {"edition": "graded", "lang": "zh"}
    assert [c.source for c in graded.cells] == [c.source for c in chinese.cells
                                                if "solution" not in c.metadata.get("tags", [])]
    solved = with_solutions(graded)
    for exercise in for_notebook(path.stem):
        (cell,) = [c for c in solved.cells if c.get("id") == f"{exercise.exercise_id.replace('/', '-')}-exercise"]
        assert cell.source == solution_for(exercise.exercise_id, "zh").rstrip("\n")


def test_a_lesson_cannot_be_built_back_into_english() -> None:
    chinese = read(ROOT / "notebooks" / "zh" / "00_welcome.ipynb")
    with pytest.raises(GradingError, match="expected English to build the 'en' edition from"):
        build(chinese, "00_welcome", "self-paced", "en")
    with pytest.raises(GradingError, match="No language 'fr'"):
        build(read(ENGLISH[0]), ENGLISH[0].stem, "self-paced", "fr")


def test_a_text_without_its_translation_stops_the_build_saying_where_and_how_to_fix_it() -> None:
    notebook = read(ROOT / "notebooks" / "00_welcome.ipynb")
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell("A brand new paragraph of the lesson.", id="new-cell"))
    with pytest.raises(LessonNotTranslated) as raised:
        build(notebook, "00_welcome", "self-paced", "zh")
    message = str(raised.value)
    for part in ("notebooks/00_welcome.ipynb", "cell new-cell", "A brand new paragraph of the lesson.",
                 "notebooks/locale/zh_CN/LC_MESSAGES/00_welcome.po", "python -m tools.lessons pending 00_welcome"):
        assert part in message
    assert [p.cell_id for p in raised.value.missing] == ["new-cell"]
    notebook.cells[1] = nbformat.v4.new_code_cell("lab.status()\n    # a new comment to translate", id="new-code")
    with pytest.raises(LessonNotTranslated, match="cell new-code, comment on line 2: 'a new comment to translate'"):
        build(notebook, "00_welcome", "self-paced", "zh")


def lesson(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    return notebook


CODE = ('# start the lab\nlab = Lab.start(single("beijing"))  # an inline comment stays\n'
        'text = """\n# not a comment: inside a string\n"""\n'
        'if lab:\n    #   indented, two spaces\n    lab.stop()\n# ---')


def test_a_lesson_s_texts_are_its_markdown_cells_and_full_line_comments() -> None:
    exercise_cell = nbformat.v4.new_markdown_cell("Exercise text", id="ex")
    exercise_cell.metadata = {"geolab": {"exercise": "00-welcome/1"}}
    notebook = lesson(nbformat.v4.new_markdown_cell("## Start\nThe `lab`.", id="md"),
                      nbformat.v4.new_code_cell(CODE, id="code"), exercise_cell,
                      nbformat.v4.new_markdown_cell("  ", id="blank"))
    assert [(p.msgid, p.cell_id, p.kind, p.line) for p in pieces(notebook)] == [
        ("## Start\nThe `lab`.", "md", MARKDOWN, None),
        ("start the lab", "code", COMMENT, 1),
        ("indented, two spaces", "code", COMMENT, 7),
    ]


def test_translating_a_lesson_changes_its_words_only(tmp_path: Path) -> None:
    notebook = lesson(nbformat.v4.new_markdown_cell("## Start\nThe `lab`.", id="md"),
                      nbformat.v4.new_code_cell(CODE, id="code"))
    update_catalog(notebook, "99_demo", locale_dir=tmp_path)
    catalog = read_catalog(catalog_path("99_demo", locale_dir=tmp_path))
    for msgid, msgstr in {"## Start\nThe `lab`.": "## 开始\n`lab`。", "start the lab": "启动实验环境",
                          "indented, two spaces": "缩进，两个空格"}.items():
        catalog[msgid].string = msgstr
    write_catalog(catalog_path("99_demo", locale_dir=tmp_path), catalog)
    zh = translate(notebook, "99_demo", locale_dir=tmp_path)
    assert zh.cells[0].source == "## 开始\n`lab`。"
    assert zh.cells[1].source.split("\n") == [
        "# 启动实验环境", 'lab = Lab.start(single("beijing"))  # an inline comment stays', 'text = """',
        "# not a comment: inside a string", '"""', "if lab:", "    #   缩进，两个空格", "    lab.stop()", "# ---"]
    assert code_without_comments(zh.cells[1].source) == code_without_comments(CODE)
    assert zh.metadata["geolab"]["lang"] == "zh" and "lang" not in notebook.metadata.get("geolab", {})


def test_extracting_keeps_translations_drops_the_obsolete_and_rewrites_nothing_unchanged(tmp_path: Path) -> None:
    notebook = lesson(nbformat.v4.new_markdown_cell("First.", id="a"), nbformat.v4.new_markdown_cell("Second.", id="b"))
    first = update_catalog(notebook, "99_demo", locale_dir=tmp_path)
    assert (first.total, first.translated, first.added, first.dropped, first.written) == (2, 0, 2, 0, True)
    path = catalog_path("99_demo", locale_dir=tmp_path)
    catalog = read_catalog(path)
    catalog["First."].string = "第一。"
    catalog["Second."].string = "第二。"
    write_catalog(path, catalog)
    before = path.read_bytes()
    assert not update_catalog(notebook, "99_demo", locale_dir=tmp_path).written
    assert path.read_bytes() == before
    notebook.cells[1].source = "Second, reworded."
    again = update_catalog(notebook, "99_demo", locale_dir=tmp_path)
    assert (again.total, again.translated, again.added, again.dropped) == (2, 1, 1, 1)
    assert {m.id: m.string for m in read_catalog(path) if m.id} == {"First.": "第一。", "Second, reworded.": ""}
    assert not read_catalog(path).obsolete


MARKDOWN_TEXT = ("## 1. Start\nRun `lab.start()` and see <b>this</b> [page](https://pulsar.apache.org).\n\n"
                 "| a | b |\n|---|---|\n\n```python\nlab.stop()\n```")
GOOD = ("## 1. 开始\n运行 `lab.start()`，查看 <b>这里</b> [页面](https://pulsar.apache.org/zh/)。\n\n"
        "| 甲 | 乙 |\n|---|---|\n\n```python\nlab.stop()\n```")


@pytest.mark.parametrize(("broken", "problem"), [
    (GOOD.replace("`lab.start()`", "lab.start()"), "inline code spans differ"),
    (GOOD.replace("`lab.start()`", "`lab.begin()`"), "inline code spans differ"),
    (GOOD.replace("lab.stop()\n```", "lab.stop()  # 停止\n```"), "fenced code blocks differ"),
    (GOOD.replace("<b>这里</b>", "这里"), "HTML tags differ"),
    (GOOD.replace("## 1.", "### 1."), "headings differ"),
    (GOOD.replace("[页面](https://pulsar.apache.org/zh/)", "页面"), "number of hyperlinks differs"),
    (GOOD.replace("| 甲 | 乙 |", "| 甲乙 |"), "table's shape differs"),
    ("", "translation is empty"),
])
def test_a_translation_that_breaks_the_markdown_is_refused(broken: str, problem: str) -> None:
    assert skeleton_problems(MARKDOWN_TEXT, GOOD) == []
    assert any(problem in p for p in skeleton_problems(MARKDOWN_TEXT, broken)), skeleton_problems(MARKDOWN_TEXT,
                                                                                                  broken)


def test_a_comment_translation_keeps_one_line_and_its_placeholders() -> None:
    assert skeleton_problems("wait for {count} messages", "等待 {count} 条消息", COMMENT) == []
    assert any("one line" in p for p in skeleton_problems("wait", "等待\n更久", COMMENT))
    assert any("placeholders" in p for p in skeleton_problems("wait for {count} messages", "等待 {n} 条消息", COMMENT))


def test_the_translators_tool_fills_a_lesson_and_refuses_a_broken_translation(tmp_path: Path) -> None:
    notebooks, locale = tmp_path / "notebooks", tmp_path / "locale"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "00_welcome.ipynb", notebooks)
    texts = pending_texts("00_welcome", notebooks, locale)
    assert len(texts) == len({p.msgid for p in pieces(read(notebooks / "00_welcome.ipynb"))})
    assert not any(texts.values())
    first, second = list(texts)[1:3]  # "## 1. Is this machine ready? ...", "## 2. Start one cluster ..."
    refused, warnings = apply_translations("00_welcome", {
        first: "## 1. 这台机器准备好了吗？\ndoctor 会检查 Docker 引擎、内存、CPU 和 Pulsar 镜像。"
               "`FAIL` 行说明如何修复。",
        second: "## 2. 启动一个集群\n没有代码。",  # its `code` spans left out
        "not a text of the lesson": "随便",
    }, notebooks, locale)
    assert len(refused) == 2 and "inline code spans differ" in refused[0] and "not a text of 00_welcome" in refused[1]
    assert not warnings
    left = pending_texts("00_welcome", notebooks, locale)
    assert first not in left and second in left and len(left) == len(texts) - 1


def test_the_glossary_slips_of_a_translation_are_reported() -> None:
    assert glossary_slips("Stop the lab.", "停止实验室。") == [
        "names 'lab': the glossary says '实验环境'", "uses '实验室': the glossary says '实验环境'"]
    assert glossary_slips("Call `lab.stop()`.", "调用 `lab.stop()`。") == []


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks" / "locale").glob("*/LC_MESSAGES/*.po")),
                         ids=lambda p: p.stem)
def test_lesson_catalogs_keep_the_markdown_and_the_glossary(path: Path) -> None:
    kinds = {p.msgid: p.kind for p in pieces(read(ROOT / "notebooks" / f"{path.stem}.ipynb"))}
    catalog = read_catalog(path)
    assert not catalog.obsolete
    assert {str(m.id) for m in catalog if m.id} == set(kinds), "run `python -m checks.lessons extract`"
    wrong = []
    for message in catalog:
        if message.id and message.string:
            wrong += [f"{message.id[:60]!r}: {p}" for p in skeleton_problems(str(message.id), str(message.string),
                                                                            kinds[str(message.id)])]
            wrong += [f"{message.id[:60]!r} {slip}" for slip in glossary_slips(str(message.id), str(message.string))]
    assert not wrong, "\n".join(wrong)


def test_the_chinese_exercise_cells_frame_the_exercise_in_chinese() -> None:
    exercise = ALL["00-welcome/1"]
    english = exercise_group(exercise, "self-paced")
    assert english[0].source.startswith("### ✏️ Exercise 00-welcome/1: ")
    chinese = exercise_group(exercise, "self-paced", "zh")
    assert chinese[0].source.startswith("### ✏️ 练习 00-welcome/1：")
    assert "💡 提示" in chinese[3].source and "<summary>参考答案</summary>" in chinese[4].source
    assert [c.id for c in chinese] == [c.id for c in english] and [c.metadata for c in chinese] == \
           [c.metadata for c in english]
    assert chinese[2].source == english[2].source == 'check("00-welcome/1", lab)'


def test_a_chinese_solution_is_the_english_code_with_the_predicted_answer_shown_in_chinese(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.editions

    shown = {"beijing → shanghai only": "仅 beijing → shanghai"}
    monkeypatch.setattr(checks.editions, "_shown", lambda text: shown.get(text, text))
    code = solution_for("01-basics/3", "zh")
    assert code == SOLUTIONS["01-basics/3"].replace('"beijing → shanghai only"', '"仅 beijing → shanghai"')
    assert solution_for("01-basics/3", "en") == SOLUTIONS["01-basics/3"]
    assert solution_for("01-basics/1", "zh") == SOLUTIONS["01-basics/1"]  # no prediction: the same code
    shown["beijing → shanghai only"] = 'say "仅"'
    assert ast.literal_eval(ast.parse(solution_for("01-basics/3", "zh")).body[0].value.args[2]) == 'say "仅"'  # type: ignore[attr-defined]


def test_the_package_hands_out_the_course_in_the_learner_s_language(tmp_path: Path) -> None:
    english, chinese = course_notebooks("en"), course_notebooks("zh")
    assert [p.name for p in english] == [p.name for p in ENGLISH]
    assert [p.name for p in chinese] == [p.name for p in CHINESE] and all(p.parent.name == "zh" for p in chinese)
    assert course_notebooks() == english  # the tests read English
    with using("zh"):
        assert course_notebooks() == chinese
        assert course_folder() == "notebooks/zh"
    copied = copy_notebooks(tmp_path / "course", lang="zh")
    assert [p.read_bytes() for p in copied] == [p.read_bytes() for p in chinese]
    assert course_folder("notebooks", "en") == "notebooks"


@pytest.mark.parametrize(("env", "folder"), [
    ({"GEOLAB_LANG": "zh"}, "notebooks/zh"), ({"GEOLAB_LANG": "en"}, "notebooks"),
    ({"LANG": "zh_CN.UTF-8"}, "notebooks/zh"), ({"LANG": "C"}, "notebooks"), ({}, "notebooks"),
])
def test_make_lab_opens_the_course_folder_of_the_language(env: dict[str, str], folder: str) -> None:
    clean = {"PATH": "/usr/bin:/bin", **env}
    result = subprocess.run([sys.executable, "-m", "labs.course", "--folder", "notebooks"], cwd=ROOT, env=clean,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == folder



def test_make_notebooks_builds_the_translated_lessons_and_skips_the_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from checks.editions import main

    source = tmp_path / "notebooks"
    source.mkdir()
    for path in ENGLISH:
        shutil.copy(path, source)
    (source / "zh").mkdir()
    incomplete = [p for p in ENGLISH if p not in COMPLETE]
    stale = [source / "zh" / "99_gone.ipynb"] + [source / "zh" / p.name for p in incomplete[:1]]
    for path in stale:
        path.write_text("{}")
    assert main(["--source", str(source), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (source / "zh").glob("*.ipynb")) == [p.name for p in COMPLETE]
    for path in COMPLETE:
        assert (source / "zh" / path.name).read_bytes() == (ROOT / "notebooks" / "zh" / path.name).read_bytes()
    for path in incomplete:
        assert f"zh: skipped {path.stem}: " in out and f"python -m tools.lessons pending {path.stem}" in out
    assert all(f"removed {path}" in out for path in stale)
    assert sorted(p.name for p in source.glob("*.ipynb")) == [p.name for p in ENGLISH]  # English untouched
    assert [p.read_bytes() for p in sorted(source.glob("*.ipynb"))] == [p.read_bytes() for p in ENGLISH]


def test_a_lesson_without_a_catalog_says_where_its_chinese_edition_comes_from(tmp_path: Path) -> None:
    with pytest.raises(LessonNotTranslated, match=r"no 'zh' catalog .*GEOLAB_LANG=zh geolab notebooks DIR") as raised:
        translate(read(ENGLISH[0]), ENGLISH[0].stem, locale_dir=tmp_path)
    assert raised.value.missing  # every text of the lesson
