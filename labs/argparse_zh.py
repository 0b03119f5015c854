"""argparse's own words, marked for geolab's catalog so that `geolab`'s command line reads in Chinese.

argparse says its headings and errors ("usage: ", "options", "invalid choice: ...") through its
module-level `_` and `ngettext` (gettext's, which follow only the locale). While `geolab` builds and
parses its command line, `labs.cli.localize_argparse()` points them at `labs.i18n`, which looks these
texts up in geolab's catalog in the learner's language (GEOLAB_LANG, the locale). This module only lists
them, exactly as argparse writes them, for Babel to extract (`make messages`): the ones a user of
`geolab` can meet, from Python 3.10 to 3.14 (a text a Python version does not use is never looked up).
argparse's errors about a program's own parser (a bad `add_argument`) are not listed: they are bugs,
shown in English.

A translation keeps argparse's ``%s`` and ``%(name)s`` placeholders, which argparse fills itself. One
text names a placeholder like a glossary term (``%(message)s``, not a Pulsar message): it is looked up
through a braced twin (`TWINS`) whose translation `translate` fills back into argparse's form.
"""

from __future__ import annotations

from labs.i18n import N_, _, ngettext

#: argparse's texts (its msgids), each as argparse writes it.
MESSAGES = (
    # headings of --help
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),  # Python 3.9's heading for options
    N_("%(heading)s:"),  # Python 3.14: a heading with its colon
    N_("show this help message and exit"),
    # errors in a command line
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid choice: %(value)r, maybe you meant %(closest)r? (choose from %(choices)s)"),  # Python 3.14
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    # warnings (Python 3.13 and later)
    N_("option '%(option)s' is deprecated"),
    N_("argument '%(argument_name)s' is deprecated"),
    N_("command '%(parser_name)s' is deprecated"),
)

#: argparse's texts whose placeholders read as words, each with the braced twin the catalog translates,
#: and how the twin's placeholders become argparse's again.
TWINS = {
    "argument %(argument_name)s: %(message)s": (N_("argument {argument}: {problem}"),
                                               {"{argument}": "%(argument_name)s", "{problem}": "%(message)s"}),
}


def translate(message: str) -> str:
    """argparse's `message` in the current language (its `_` while `labs.cli.localize_argparse` holds)."""
    if message not in TWINS:
        return _(message)
    twin, placeholders = TWINS[message]
    said = _(twin)
    for braced, argparses in placeholders.items():
        said = said.replace(braced, argparses)
    return said


def _plural_messages() -> None:
    """Never called: shows Babel argparse's texts that have a plural (its `ngettext` keyword takes both forms)."""
    ngettext("expected %s argument", "expected %s arguments", 2)
