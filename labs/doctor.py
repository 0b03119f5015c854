"""`geolab doctor`: what stands between this machine and a running lab, and how to fix it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from importlib.metadata import version

from labs.cluster import lab_names, port_is_free
from labs.engine import docker_client
from labs.errors import EngineError
from labs.i18n import N_, _
from labs.image import image_status
from labs.settings import LOCAL_IMAGE, OFFICIAL_IMAGE, load_settings

#: Measured peak RSS of one cluster container plus JVM headroom (see benchmarks/).
MIB_PER_CLUSTER = 768
MIB_HEADROOM = 1024


@dataclass(frozen=True)
class Finding:
    """One doctor check: level is "ok", "warn" or "fail"."""

    check: str  # the English name (a key); shown in the reader's language
    level: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """All findings; renders as a table in a notebook."""

    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.level != "fail" for f in self.findings)

    def _repr_html_(self) -> str:
        colour = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
        rows = "".join(
            f"<tr><td>{escape(_(f.check))}</td><td style='color:{colour[f.level]};font-weight:bold'>"
            f"{f.level.upper()}</td><td>{escape(f.detail)}</td><td>{escape(f.fix)}</td></tr>"
            for f in self.findings
        )
        verdict = _("This machine is ready for a lab.") if self.ok else _("Fix the FAIL rows, then run this cell "
                                                                         "again.")
        head = "".join(f"<th>{escape(title)}</th>" for title in (_("check"), _("result"), _("detail"), _("fix")))
        return f"<table><tr>{head}</tr>{rows}</table><p>{escape(verdict)}</p>"


def doctor(clusters: int = 3, base_port: int | None = None) -> DoctorReport:
    """The doctor's findings as a report (notebook-friendly)."""
    return DoctorReport(tuple(diagnose(clusters, base_port)))


def first_sentence(text: str) -> str:
    """What failed, without the advice after it (the finding's fix says what to do), in either language."""
    return re.split(r"\.\s+(?=[A-Z])|。", text.strip(), maxsplit=1)[0].rstrip(".")


def _control_channel(socket_path: str, token: str) -> Finding:
    """The control channel answers this kernel (its token is taken): Docker is not needed here."""
    from labs.control import ControlBackend
    from labs.errors import LabError, LabNotFoundError

    try:
        backend = ControlBackend(socket_path, token, timeout_s=15)
    except LabError as exc:
        return Finding(N_("lab server"), "fail", str(exc), _("Ask your instructor: the workshop's lab server is not "
                                                               "there."))
    try:
        backend.attach("doctor-probe")
    except LabNotFoundError:
        pass  # it answered, and took this kernel's token
    except LabError as exc:
        return Finding(N_("lab server"), "fail", f"{socket_path}: {str(exc)[:200]}",
                       _("Restart your server (File > Hub Control Panel > Stop My Server, then Start); if it "
                         "persists, ask your instructor."))
    finally:
        backend.close()
    return Finding(N_("lab server"), "ok", _("labs come from the workshop's lab server through {socket}; this kernel "
                                             "needs no Docker, memory or image of its own").format(socket=socket_path))


def diagnose(clusters: int = 3, base_port: int | None = None) -> list[Finding]:
    """Run every check; never raises for a failed check (it becomes a "fail" finding)."""
    findings: list[Finding] = []
    client_version = version("pulsar-client")
    major_minor = tuple(int(p) for p in client_version.split(".")[:2])
    findings.append(
        Finding("pulsar-client", "ok", f"pulsar-client {client_version}")
        if major_minor >= (3, 11)
        else Finding("pulsar-client", "fail", _("pulsar-client {version} lacks AutoClusterFailover").format(
            version=client_version), _("pip install -e . (pyproject asks for pulsar-client>=3.11)"))
    )
    settings = load_settings()
    if settings.control_socket:  # a workshop's or a grader's kernel: its labs come from a trusted side
        findings.append(_control_channel(settings.control_socket, settings.control_token))
        return findings
    try:
        client = docker_client(timeout_s=10)
    except EngineError as exc:
        findings.append(Finding(N_("docker engine"), "fail", first_sentence(str(exc)),
                                _("Start Docker (Docker Desktop, `sudo systemctl start docker` or `sudo dockerd "
                                  "&`).")))
        return findings
    info = client.info()
    findings.append(Finding(N_("docker engine"), "ok", _("Docker {version} answers").format(
        version=info.get("ServerVersion", "?"))))
    total_mib = int(info.get("MemTotal", 0)) // (1024 * 1024)
    needed = clusters * MIB_PER_CLUSTER + MIB_HEADROOM
    memory = _("{total} MiB for Docker; a {clusters}-cluster lab needs about {needed} MiB").format(
        total=total_mib, clusters=clusters, needed=needed)
    findings.append(
        Finding(N_("memory"), "ok", memory) if total_mib >= needed
        else Finding(N_("memory"), "fail", memory, _("Give Docker more memory (Docker Desktop: Settings > Resources), "
                                                     "or close other labs."))
    )
    cpus = int(info.get("NCPU", 0))
    findings.append(
        Finding(N_("cpu"), "ok" if cpus >= 2 else "warn", _("{count} CPU(s) for Docker").format(count=cpus),
                "" if cpus >= 2 else _("Labs start slowly on one CPU; give Docker two or more."))
    )
    status = image_status(client, settings)
    if status.forced:
        findings.append(
            Finding(N_("image"), "ok", _("GEOLAB_PULSAR_IMAGE={image} is present").format(image=status.forced))
            if status.forced_present
            else Finding(N_("image"), "fail",
                         _("GEOLAB_PULSAR_IMAGE={image} is not present").format(image=status.forced),
                         _("docker pull {image}, or unset GEOLAB_PULSAR_IMAGE").format(image=status.forced))
        )
    elif status.official or status.local:
        name = OFFICIAL_IMAGE if status.official else LOCAL_IMAGE
        findings.append(Finding(N_("image"), "ok", _("{image} is present").format(image=name)))
    else:
        findings.append(Finding(N_("image"), "fail", _("neither {official} nor {local} is present").format(
            official=OFFICIAL_IMAGE, local=LOCAL_IMAGE), _("`docker pull {official}`, or build offline with `make "
                                                           "image`").format(official=OFFICIAL_IMAGE)))
    if base_port is not None:
        taken = [p for p in range(base_port, base_port + 2 * clusters) if not port_is_free(p)]
        findings.append(
            Finding(N_("ports"), "ok", _("127.0.0.1:{first}-{last} are free").format(
                first=base_port, last=base_port + 2 * clusters - 1))
            if not taken
            else Finding(N_("ports"), "fail", _("127.0.0.1 ports {taken} are taken").format(taken=taken),
                         _("Stop what holds them (`ss -ltnp`), `geolab down`, or pick another --base-port."))
        )
    else:
        findings.append(
            Finding(N_("ports"), "ok", _("labs pick free ports on 127.0.0.1 (pass --base-port to check fixed ones)"))
        )
    running = lab_names(client)
    findings.append(
        Finding(N_("labs"), "ok" if not running else "warn",
                _("running labs: {labs}").format(labs=", ".join(running)) if running else _("no lab is running"),
                _("Each running lab holds memory; `geolab down NAME` stops one.") if running else "")
    )
    return findings
