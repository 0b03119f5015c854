#!/usr/bin/env python3
"""Apply environment variables to Pulsar configuration files (same contract as the official image).

Usage: apply-config-from-env.py [--prefix PULSAR_PREFIX_] conf_file [conf_file ...]

For each file:
  * a variable whose name equals a key present in the file (also a commented ``#key=``) sets that key;
    where a key appears both commented and not (``tokenSecretKey``, ``tlsProtocols``), the line
    that is in effect is the one set;
  * a variable named ``<prefix><key>`` sets that key, and appends it when the file lacks it.
Values are stripped of surrounding white space. Each change is printed, secrets masked.
"""

from __future__ import annotations

import os
import re
import sys

KEY_LINE = re.compile(r"^#?\s*([A-Za-z0-9_.\-]+)\s*=")
SECRET_WORDS = ("password", "secret", "token", "key")


def shown(key: str, value: str) -> str:
    return "******" if any(word in key.lower() for word in SECRET_WORDS) else value


def apply(path: str, prefix: str) -> None:
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    index: dict[str, int] = {}
    for number, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match:
            continue
        key = match.group(1)
        if key not in index or (lines[index[key]].startswith("#") and not line.startswith("#")):
            index[key] = number  # the first line of a key, unless a later one is in effect
    updates: dict[str, str] = {}
    for name, value in os.environ.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            updates[name[len(prefix):]] = value.strip()
        elif name in index and name not in updates:
            updates[name] = value.strip()
    for key, value in sorted(updates.items()):
        if key in index:
            lines[index[key]] = f"{key}={value}"
            print(f"[{path}] Applying config {key} = {shown(key, value)}")
        else:
            lines.append(f"{key}={value}")
            print(f"[{path}] Adding config {key} = {shown(key, value)}")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    prefix = "PULSAR_PREFIX_"
    files: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--prefix":
            prefix = next(args, prefix)
        else:
            files.append(arg)
    if not files:
        print("usage: apply-config-from-env.py [--prefix PULSAR_PREFIX_] conf_file...", file=sys.stderr)
        return 2
    for path in files:
        apply(path, prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
