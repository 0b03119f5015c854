"""Messages in the learner's language: English (the source) or Simplified Chinese (中文).

Every text a learner, an instructor or a grader reads is written in English in the code, marked
with `_()` (translated where it is shown) or `N_()` (a module-level text, translated later), and
translated in a gettext catalog (`labs/locale/zh_CN/LC_MESSAGES/geolab.po`, compiled to `.mo`,
both extracted and compiled with Babel: `make messages`). Which language, read on every call and
never at import:

1. a language set for this thread of work with `using(lang)` (the trusted side answers each kernel
   in the kernel's language; the grader each submission in its own); work handed to another thread
   (a pool's worker, a thread's target) takes it along when wrapped in `in_this_language(...)`;
2. ``GEOLAB_LANG``: ``en`` or ``zh`` (also ``zh_CN``, ``zh-CN``, ``zh_Hans``); any other value is a
   `SettingsError` from `load_settings()` (here it falls back to English, so an error message never
   fails for its language);
3. the locale, in gettext's order ``LANGUAGE`` (a colon list), ``LC_ALL``, ``LC_MESSAGES``, ``LANG``:
   ``zh*`` is Chinese, anything else (``C``, ``POSIX``, ``en_US.UTF-8`` ...) English;
4. English.

Nothing here imports the rest of `labs` but its errors.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, wraps
from importlib import resources
from typing import ParamSpec, TypeVar

from labs.errors import SettingsError

LANGUAGES = ("en", "zh")
DOMAIN = "geolab"
#: The catalog's locale folder of each language (English is the source: it has none).
LOCALES = {"zh": "zh_CN"}
_ALIASES = {"en": "en", "en_us": "en", "en_gb": "en", "zh": "zh", "zh_cn": "zh", "zh_hans": "zh", "zh_hans_cn": "zh"}
_chosen: ContextVar[str | None] = ContextVar("geolab_language", default=None)
#: A message's ``{placeholder}`` (its name is group 1): a translation must keep every one of them.
PLACEHOLDER = re.compile(r"{([^{}!:]*)[^{}]*}")
P = ParamSpec("P")
R = TypeVar("R")


def parse_language(value: str) -> str | None:
    """``en`` or ``zh`` for a value of GEOLAB_LANG (``zh-CN``, ``zh_CN.UTF-8`` ...); None when unknown."""
    key = value.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    return _ALIASES.get(key)


def configured_language(env: Mapping[str, str] | None = None) -> str | None:
    """GEOLAB_LANG's language, None when unset.

    Raises:
        SettingsError: it names no language of the course.
    """
    source = os.environ if env is None else env
    value = source.get("GEOLAB_LANG", "").strip()
    if not value:
        return None
    language = parse_language(value)
    if language is None:
        # said in the locale's language: GEOLAB_LANG, which would choose it, is what is wrong
        said = catalog(_chosen.get() or locale_language(source)).gettext(
            N_("GEOLAB_LANG={value!r} is not a language of the course; expected en or zh. Unset it to follow the "
               "locale (LANG)."))
        raise SettingsError(said.format(value=value))
    return language


def locale_language(env: Mapping[str, str] | None = None) -> str:
    """The locale's language, in gettext's order of variables: ``zh`` for a Chinese locale, else ``en``."""
    source = os.environ if env is None else env
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = source.get(variable, "").strip()
        if value:
            return "zh" if value.split(":")[0].lower().startswith("zh") else "en"
    return "en"


def language() -> str:
    """The language messages are shown in now (see the module docstring); never raises."""
    chosen = _chosen.get()
    if chosen is not None:
        return chosen
    try:
        configured = configured_language()
    except SettingsError:
        return "en"  # load_settings() reports it; a message must not fail for its language
    return configured or locale_language()


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Show messages in `lang` within the block, in this thread (and the tasks it starts with its context;
    a thread pool's workers and new threads only through `in_this_language`).

    Raises:
        SettingsError: `lang` is not en or zh.
    """
    if lang not in LANGUAGES:
        raise SettingsError(_("Language {lang!r} is not one of the course's; expected one of {languages}.").format(
            lang=lang, languages=list(LANGUAGES)))
    token = _chosen.set(lang)
    try:
        yield
    finally:
        _chosen.reset(token)


def in_this_language(work: Callable[P, R]) -> Callable[P, R]:
    """`work`, to be run in another thread, in the language chosen here and now.

    A thread starts with a context of its own, so the language `using()` chose does not follow work
    handed to a `ThreadPoolExecutor` or a `threading.Thread`: its progress lines and errors would come
    out in GEOLAB_LANG's or the locale's language (a Chinese learner of a hosted workshop would read
    English). Wrap the work where it is handed over::

        pool.submit(in_this_language(launch), cluster)
        pool.map(in_this_language(one), labs)
        threading.Thread(target=in_this_language(run))

    Each call, in any thread and several at once, speaks the language chosen when `work` was wrapped
    (none chosen: GEOLAB_LANG's or the locale's, as it would here).
    """
    chosen = _chosen.get()

    @wraps(work)
    def in_language(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _chosen.set(chosen)
        try:
            return work(*args, **kwargs)
        finally:
            _chosen.reset(token)

    return in_language


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (English: none, the messages are the source)."""
    if lang not in LOCALES:
        return gettext.NullTranslations()
    path = resources.files("labs") / "locale" / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def _(message: str) -> str:
    """`message` in the current language (English when its catalog has no translation)."""
    return catalog(language()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for "mark, translate later")
    """Mark a text for the catalog without translating it now (a module-level constant)."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    """`singular` or `plural` for `count`, in the current language."""
    return catalog(language()).ngettext(singular, plural, count)


class Text:
    """A message kept with its values, shown in whichever language reads it.

    ``Text("{local} knows {peer}", local="beijing", peer="shanghai")``: `key` is the English text (a
    stable identity for records, the control channel and the gradebook, the same in every language);
    `render()` (and ``str()``) is the text in the current language. Babel extracts the first argument
    (``Text`` is one of the catalog's keywords), so the message needs no `N_()`.
    """

    __slots__ = ("message", "values")
    message: str
    values: tuple[tuple[str, object], ...]

    def __init__(self, message: str, **values: object) -> None:
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "values", tuple(sorted(values.items())))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Text is immutable; cannot set {name}")

    @property
    def key(self) -> str:
        """The English text, with its values."""
        return self.message.format(**dict(self.values))

    def render(self) -> str:
        """The text in the current language, with its values."""
        return _(self.message).format(**dict(self.values))

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Text({self.key!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.message, self.values) == (other.message, other.values)

    def __hash__(self) -> int:
        return hash((self.message, self.values))


def text_key(text: str | Text) -> str:
    """The English identity of a plain (N_-marked) text or a `Text`."""
    return text.key if isinstance(text, Text) else text


def render(text: str | Text) -> str:
    """A plain (N_-marked) text or a `Text`, in the current language."""
    return text.render() if isinstance(text, Text) else _(text)
