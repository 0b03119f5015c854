"""Host firewall rules that close a Docker bridge off from this host's own services.

The grading sandbox's network is an internal Docker network, yet the host still has an address on
its bridge; a DROP rule for packets arriving from that bridge keeps a submission's kernel away from
anything the host serves. The rules outlive a grader that was killed, so `geolab down` removes them
with the network (`remove_lab`), not only the grader that made them.
"""

from __future__ import annotations

import subprocess

from labs.errors import LabError
from labs.i18n import _

TOOLS = ("iptables", "ip6tables")


class FirewallError(LabError):
    """The host's firewall could not be changed (not root, or no iptables)."""


def bridge_name(network_id: str) -> str:
    """The host interface of a Docker bridge network."""
    return f"br-{network_id[:12]}"


def _rule(tool: str, action: str, bridge: str, match: tuple[str, ...] = (), target: str = "DROP"
          ) -> subprocess.CompletedProcess[str]:
    command = [tool, "-w", "10", action, "INPUT", "-i", bridge, *match, "-j", target]
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


def open_bridge(bridge: str) -> int:
    """Remove every DROP rule for `bridge` (best effort: a host without the tool or the rule has none to
    remove). Returns how many rules were removed."""
    removed = 0
    for tool in TOOLS:
        for _attempt in range(16):  # a rule added more than once is removed as often; never loops for ever
            try:
                if _rule(tool, "-D", bridge).returncode != 0:
                    break
            except FirewallError:
                break
            removed += 1
        removed += _remove_listed(tool, bridge)
    return removed


def _remove_listed(tool: str, bridge: str) -> int:
    """Remove the other rules for `bridge` (a workshop's ACCEPT rules), as `-S INPUT` lists them."""
    try:
        listed = _run([tool, "-w", "10", "-S", "INPUT"], tool)
    except FirewallError:
        return 0
    if listed.returncode != 0:
        return 0
    removed = 0
    for line in listed.stdout.splitlines():
        words = line.split()
        if words[:2] == ["-A", "INPUT"] and words[2:4] == ["-i", bridge]:
            try:
                if _run([tool, "-w", "10", "-D", *words[1:]], tool).returncode == 0:
                    removed += 1
            except FirewallError:
                continue
    return removed
