"""Host firewall rules that close a Docker bridge off from this host's own services and the world.

Two kinds of bridge are closed:
- the grading sandbox's network (and a workshop hub's): an internal Docker network, yet the host still
  has an address on its bridge; a DROP rule for packets arriving from that bridge keeps a submission's
  kernel away from anything the host serves (`close_bridge`);
- the networks of a lab a trusted side runs for a learner (a graded submission's, a workshop's): its
  clusters may open no connection to this host, and nothing from them is routed anywhere but back
  onto the same bridge (`confine_bridge`). Cluster registration lets a learner name any address as a
  peer; on such a lab a broker can reach only its own lab's containers.

The rules outlive a grader that was killed, so `geolab down` removes them with the network
(`remove_lab`), not only the grader that made them. Their packet counters say how much a learner's
code tried to send out (`dropped`).
"""

from __future__ import annotations

import re
import subprocess

from labs.errors import LabError
from labs.i18n import _

TOOLS = ("iptables", "ip6tables")
#: Where forwarded packets are judged: Docker's chain for the user's rules (IPv4), else FORWARD itself.
FORWARD_CHAINS = {"iptables": "DOCKER-USER", "ip6tables": "FORWARD"}
CHAINS = ("INPUT", "FORWARD", "DOCKER-USER")
_COUNTERS = re.compile(r" -c (\d+) \d+")


class FirewallError(LabError):
    """The host's firewall could not be changed (not root, or no iptables)."""


def bridge_name(network_id: str) -> str:
    """The host interface of a Docker bridge network."""
    return f"br-{network_id[:12]}"


def _rule(tool: str, action: str, bridge: str, match: tuple[str, ...] = (), target: str = "DROP",
          chain: str = "INPUT") -> subprocess.CompletedProcess[str]:
    command = [tool, "-w", "10", action, chain, "-i", bridge, *match, "-j", target]
    return _run(command, tool)


def _run(command: list[str], tool: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(_("Cannot change this host's firewall: `{command}` failed ({error}); expected {tool} to "
                              "run. Run as root on a host with {tool}.").format(
            command=" ".join(command), error=exc, tool=tool)) from exc


def close_bridge(bridge: str, allow_tcp: tuple[int, ...] = ()) -> None:
    """Drop every packet from `bridge` to this host (IPv4 and IPv6), except new connections to the
    TCP ports in `allow_tcp` and the answers to connections the host made (a workshop's hub API).

    Raises:
        FirewallError: a rule could not be added.
    """
    allowed = [("-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED")] if allow_tcp else []
    allowed += [("-p", "tcp", "--dport", str(port)) for port in allow_tcp]
    for tool in TOOLS:
        for match, target in [((), "DROP"), *((m, "ACCEPT") for m in allowed)]:  # each goes above the last
            result = _rule(tool, "-I", bridge, match, target)
            if result.returncode != 0:
                rule = " ".join([tool, "-I", "INPUT", "-i", bridge, *match, "-j", target])
                raise FirewallError(_("Cannot close {bridge} off from this host: `{rule}` exited {code} ({error}); "
                                      "expected 0. Run as root on a host with {tool}.").format(
                    bridge=bridge, rule=rule, code=result.returncode, error=result.stderr.strip()[:200], tool=tool))


def _forward_chain(tool: str) -> str:
    """The chain that judges packets forwarded out of a bridge for `tool` (DOCKER-USER where Docker made
    it, so that the rule comes before Docker's own ACCEPT rules; FORWARD otherwise)."""
    chain = FORWARD_CHAINS[tool]
    if chain != "FORWARD" and _run([tool, "-w", "10", "-S", chain], tool).returncode != 0:
        return "FORWARD"
    return chain


def confine_bridge(bridge: str) -> None:
    """Close a lab network of a trusted side's lab (see the module docstring): packets from `bridge` to
    this host are dropped unless they answer a connection the host opened (its docker-proxy serves the
    lab's published ports on 127.0.0.1 through that bridge), and no packet from `bridge` is forwarded
    anywhere but back onto it (the clusters on it still reach each other). IPv4 and IPv6.

    Raises:
        FirewallError: a rule could not be added.
    """
    for tool in TOOLS:
        rules = ((("-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED"), "INPUT"),
                 (("!", "-o", bridge), _forward_chain(tool)))
        for match, chain in rules:
            result = _rule(tool, "-I", bridge, match, "DROP", chain)
            if result.returncode != 0:
                rule = " ".join([tool, "-I", chain, "-i", bridge, *match, "-j", "DROP"])
                raise FirewallError(_("Cannot close {bridge} off from this host: `{rule}` exited {code} ({error}); "
                                      "expected 0. Run as root on a host with {tool}.").format(
                    bridge=bridge, rule=rule, code=result.returncode, error=result.stderr.strip()[:200], tool=tool))


def open_bridge(bridge: str) -> int:
    """Remove every rule for `bridge` that `close_bridge` or `confine_bridge` added (best effort: a host
    without the tool or the rule has none to remove). Returns how many rules were removed."""
    removed = 0
    for tool in TOOLS:
        for _attempt in range(16):  # a rule added more than once is removed as often; never loops for ever
            try:
                if _rule(tool, "-D", bridge).returncode != 0:
                    break
            except FirewallError:
                break
            removed += 1
        for chain in CHAINS:
            removed += _remove_listed(tool, bridge, chain)
    return removed


def _listed(tool: str, chain: str, counters: bool = False) -> list[list[str]]:
    """The rules of `chain` as `-S` lists them, split into words ([] when the tool or chain is missing)."""
    try:
        listed = _run([tool, "-w", "10", *(["-v"] if counters else []), "-S", chain], tool)
    except FirewallError:
        return []
    if listed.returncode != 0:
        return []
    return [line.split() for line in listed.stdout.splitlines()]


def _remove_listed(tool: str, bridge: str, chain: str = "INPUT") -> int:
    """Remove the rules of `chain` for packets from `bridge` (a workshop's ACCEPT rules, a lab's
    confinement), as `-S` lists them."""
    removed = 0
    for words in _listed(tool, chain):
        if words[:2] == ["-A", chain] and words[2:4] == ["-i", bridge]:
            try:
                if _run([tool, "-w", "10", "-D", *words[1:]], tool).returncode == 0:
                    removed += 1
            except FirewallError:
                continue
    return removed


def dropped(bridge: str) -> int:
    """How many packets from `bridge` the DROP rules of `close_bridge` and `confine_bridge` stopped so far
    (IPv4 and IPv6; 0 on a host without the tools): what the code on that bridge tried to send to this
    host or out of its lab."""
    total = 0
    for tool in TOOLS:
        for chain in CHAINS:
            for words in _listed(tool, chain, counters=True):
                line = " ".join(words)
                if words[:2] == ["-A", chain] and words[2:4] == ["-i", bridge] and line.endswith("-j DROP"):
                    found = _COUNTERS.search(line)
                    total += int(found.group(1)) if found else 0
    return total
