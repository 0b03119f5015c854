"""Host firewall rules that close a Docker bridge off from this host's own services.

The grading sandbox's network is an internal Docker network, yet the host still has an address on
its bridge; a DROP rule for packets arriving from that bridge keeps a submission's kernel away from
anything the host serves. The rules outlive a grader that was killed, so `geolab down` removes them
with the network (`remove_lab`), not only the grader that made them.
"""

from __future__ import annotations

import subprocess

from labs.errors import LabError

TOOLS = ("iptables", "ip6tables")


class FirewallError(LabError):
    """The host's firewall could not be changed (not root, or no iptables)."""


def bridge_name(network_id: str) -> str:
    """The host interface of a Docker bridge network."""
    return f"br-{network_id[:12]}"


def _rule(tool: str, action: str, bridge: str) -> subprocess.CompletedProcess[str]:
    command = [tool, "-w", "10", action, "INPUT", "-i", bridge, "-j", "DROP"]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"Cannot change this host's firewall: `{' '.join(command)}` failed ({exc}); expected "
                            f"{tool} to run. Run as root on a host with {tool}.") from exc


def close_bridge(bridge: str) -> None:
    """Drop every packet from `bridge` to this host (IPv4 and IPv6).

    Raises:
        FirewallError: a rule could not be added.
    """
    for tool in TOOLS:
        result = _rule(tool, "-I", bridge)
        if result.returncode != 0:
            raise FirewallError(f"Cannot close {bridge} off from this host: `{tool} -I INPUT -i {bridge} -j DROP` "
                                f"exited {result.returncode} ({result.stderr.strip()[:200]}); expected 0. Run as "
                                f"root on a host with {tool}.")


def open_bridge(bridge: str) -> int:
    """Remove every DROP rule for `bridge` (best effort: a host without the tool or the rule has none to
    remove). Returns how many rules were removed."""
    removed = 0
    for tool in TOOLS:
        for _ in range(16):  # a rule added more than once is removed as often; never loops for ever
            try:
                if _rule(tool, "-D", bridge).returncode != 0:
                    break
            except FirewallError:
                break
            removed += 1
    return removed
