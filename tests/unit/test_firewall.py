"""The sandbox network's firewall rules, headless (the commands are recorded, not run): a rule that
cannot be added stops grading with a message that says what to do; removal takes every copy of the
rule and never fails on a host without the tool."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from labs import firewall
from labs.firewall import FirewallError, close_bridge, open_bridge


class Host:
    """iptables and ip6tables on a pretend host: `rules` per tool, `missing` tools raise OSError."""

    def __init__(self, rules: dict[str, int] | None = None, missing: tuple[str, ...] = (), refuse: bool = False):
        self.rules = rules or {"iptables": 0, "ip6tables": 0}
        self.missing = missing
        self.refuse = refuse
        self.commands: list[list[str]] = []

    def run(self, command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        tool, action = command[0], command[3]
        if tool in self.missing:
            raise OSError(f"{tool}: not found")
        if action == "-I":
            if self.refuse:
                return subprocess.CompletedProcess(command, 4, "", "Permission denied (you must be root)")
            self.rules[tool] += 1
            return subprocess.CompletedProcess(command, 0, "", "")
        if self.rules[tool] == 0:
            return subprocess.CompletedProcess(command, 1, "", "Bad rule (does a matching rule exist?)")
        self.rules[tool] -= 1
        return subprocess.CompletedProcess(command, 0, "", "")


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Host:
    pretend = Host()
    monkeypatch.setattr(firewall.subprocess, "run", pretend.run)
    return pretend


def test_close_adds_a_drop_rule_for_both_families(host: Host) -> None:
    close_bridge("br-0123456789ab")
    assert host.rules == {"iptables": 1, "ip6tables": 1}
    assert host.commands[0] == ["iptables", "-w", "10", "-I", "INPUT", "-i", "br-0123456789ab", "-j", "DROP"]


def test_open_removes_every_copy_and_counts_them(host: Host) -> None:
    host.rules = {"iptables": 2, "ip6tables": 1}
    assert open_bridge("br-0123456789ab") == 3
    assert host.rules == {"iptables": 0, "ip6tables": 0}
    assert open_bridge("br-0123456789ab") == 0  # nothing left: no error


def test_open_on_a_host_without_the_tools_removes_nothing_quietly(host: Host) -> None:
    host.missing = ("iptables", "ip6tables")
    assert open_bridge("br-0123456789ab") == 0


@pytest.mark.parametrize(("missing", "refuse", "says"), [
    (("ip6tables",), False, "expected ip6tables to run"),
    ((), True, "Run as root"),
])
def test_close_that_cannot_add_the_rule_says_what_to_do(host: Host, missing: tuple[str, ...], refuse: bool,
                                                        says: str) -> None:
    host.missing, host.refuse = missing, refuse
    with pytest.raises(FirewallError, match=says):
        close_bridge("br-0123456789ab")


def test_a_workshops_bridge_keeps_one_port_and_the_hosts_own_answers(host: Host) -> None:
    close_bridge("br-0123456789ab", allow_tcp=(8081,))
    v4 = [c[6:] for c in host.commands if c[0] == "iptables"]
    # each -I goes to the top, so the ACCEPT rules end above the DROP
    assert v4 == [["br-0123456789ab", "-j", "DROP"],
                  ["br-0123456789ab", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
                  ["br-0123456789ab", "-p", "tcp", "--dport", "8081", "-j", "ACCEPT"]]
