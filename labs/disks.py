"""Size-capped disks for the clusters of a lab a trusted side runs for a learner.

A learner may produce as much as Pulsar takes. On a grading host or a workshop's, one learner's lab
must not fill the disk that every other lab and the host itself write to. So each cluster of such a
lab keeps what Pulsar stores (its `data/`: bookie journal and ledgers, metadata store) and its log
files (`logs/`) on a file system of its own, of a fixed size: a sparse image file formatted as ext4
and mounted through a loop device on the host, then bind-mounted into the cluster's container.
When it is full, Pulsar's own guard answers (the bookie turns read-only at 95 %: writes fail with
Pulsar's error) and nothing else on the host notices. The disk survives a stop, kill or restart of
its cluster (the lessons crash clusters and bring them back) and goes with its lab (`remove`).

Needs root and e2fsprogs' `mkfs.ext4` (the trusted side is root already: it closes networks with
iptables). A learner's own laptop runs its labs without these disks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from labs.errors import ProvisioningError
from labs.i18n import _

#: Where the disks live: one folder per lab, an image file and a mount point per cluster.
ROOT = Path("/var/lib/geolab/disks")
#: The folders of a cluster's disk, each bind-mounted over the folder of that name in Pulsar's home.
FOLDERS = ("data", "logs")
COMMANDS = ("mkfs.ext4", "mount", "umount")


@dataclass(frozen=True)
class DiskUse:
    """What one cluster's disk holds."""

    cluster: str
    used_bytes: int
    size_bytes: int

    @property
    def full(self) -> bool:
        """At the bookie's read-only threshold (95 %): the cluster refuses new messages."""
        return self.size_bytes > 0 and self.used_bytes >= 0.95 * self.size_bytes


def _run(command: list[str], what: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisioningError(_("Cannot {what}: `{command}` failed ({error}); expected it to run. Run as root on "
                                  "a host with e2fsprogs and util-linux.").format(
            what=what, command=" ".join(command), error=exc)) from exc
    if result.returncode != 0:
        raise ProvisioningError(_("Cannot {what}: `{command}` exited {code} ({error}); expected 0. Run as root on a "
                                  "host with loop devices (`ls /dev/loop-control`).").format(
            what=what, command=" ".join(command), code=result.returncode, error=result.stderr.strip()[:300]))


def check_host() -> None:
    """Refuse, before anything starts, a host where capped disks cannot be made.

    Raises:
        ProvisioningError: not root, or a command is missing.
    """
    if os.geteuid() != 0:
        raise ProvisioningError(_("A learner's lab on a grading or workshop host stores its data on disks of a fixed "
                                  "size, which only root can mount; expected to run as root. Run the grader or the "
                                  "lab server as root."))
    missing = [command for command in COMMANDS if shutil.which(command) is None]
    if missing:
        raise ProvisioningError(_("Cannot cap the clusters' storage: {commands} not found; expected them on a grading "
                                  "or workshop host. Install e2fsprogs and util-linux (Debian: `apt-get install "
                                  "e2fsprogs mount`).").format(commands=", ".join(missing)))


def lab_folder(lab: str) -> Path:
    return ROOT / lab


def create(lab: str, cluster: str, size_mib: int, owner: tuple[int, int]) -> Path:
    """A new disk of `size_mib` MiB for `cluster` of `lab`, mounted; returns its mount point, which
    holds the folders `FOLDERS`, owned by `owner` (uid, gid: the image's user)."""
    folder = lab_folder(lab)
    folder.mkdir(parents=True, exist_ok=True)
    image, mount = folder / f"{cluster}.img", folder / cluster
    with image.open("wb") as handle:
        handle.truncate(size_mib * 1024 * 1024)  # sparse: only what Pulsar writes takes space
    # no journal (nothing to recover: the disk goes with its lab), no reserved blocks, inodes made now
    _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=0,nodiscard",
          str(image)], _("format the disk of cluster {cluster}").format(cluster=cluster))
    mount.mkdir(exist_ok=True)
    _run(["mount", "-o", "loop,nosuid,nodev,noexec,noatime", str(image), str(mount)],
         _("mount the disk of cluster {cluster}").format(cluster=cluster))
    (mount / "lost+found").rmdir()
    for name in FOLDERS:
        (mount / name).mkdir()
        os.chown(mount / name, *owner)
    return mount


def use(lab: str, cluster: str) -> DiskUse | None:
    """What `cluster`'s disk holds now (None when the lab has no disk for it)."""
    mount = lab_folder(lab) / cluster
    if not os.path.ismount(mount):
        return None
    stats = os.statvfs(mount)
    size = stats.f_blocks * stats.f_frsize
    return DiskUse(cluster, size - stats.f_bfree * stats.f_frsize, size)


def remove(lab: str | None = None) -> int:
    """Unmount and delete the disks of `lab` (every lab's when None); returns how many were removed.
    Best effort, after the lab's containers are gone: a disk still in use is detached lazily."""
    folders = [lab_folder(lab)] if lab else (sorted(p for p in ROOT.iterdir() if p.is_dir()) if ROOT.is_dir() else [])
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for mount in sorted(p for p in folder.iterdir() if p.is_dir()):
            if os.path.ismount(mount):
                if subprocess.run(["umount", str(mount)], capture_output=True, timeout=60).returncode != 0:
                    subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=60)
                removed += 1
        shutil.rmtree(folder, ignore_errors=True)
    return removed
