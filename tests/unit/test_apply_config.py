from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "apply-config-from-env.py"


def run(conf: Path, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSAR_PREFIX_")}
    subprocess.run([sys.executable, str(SCRIPT), str(conf)], env={**clean, **env}, check=True,
                   capture_output=True)
    return conf.read_text()


def test_plain_names_set_existing_keys_and_prefix_appends(tmp_path: Path) -> None:
    conf = tmp_path / "standalone.conf"
    conf.write_text("clusterName=standalone\n#advertisedAddress=\nbrokerServicePort=6650\n")
    text = run(conf, {
        "clusterName": "beijing",
        "advertisedAddress": " beijing ",
        "notAKey": "ignored",
        "PULSAR_PREFIX_advertisedListeners": "internal:pulsar://beijing:6650",
        "PULSAR_PREFIX_brokerServicePort": "6651",
    })
    lines = text.splitlines()
    assert "clusterName=beijing" in lines
    assert "advertisedAddress=beijing" in lines
    assert "brokerServicePort=6651" in lines
    assert "advertisedListeners=internal:pulsar://beijing:6650" in lines
    assert "notAKey" not in text


def test_prefix_wins_over_plain_name(tmp_path: Path) -> None:
    conf = tmp_path / "standalone.conf"
    conf.write_text("clusterName=standalone\n")
    text = run(conf, {"clusterName": "plain", "PULSAR_PREFIX_clusterName": "prefixed"})
    assert text.splitlines() == ["clusterName=prefixed"]


def test_the_line_in_effect_is_set_when_a_key_is_also_commented(tmp_path: Path) -> None:
    # standalone.conf documents tokenSecretKey in a comment above its real, empty line; setting the
    # comment instead left the broker without a key ("No secret key was provided")
    conf = tmp_path / "standalone.conf"
    conf.write_text("# tokenSecretKey=file:///path/to/secret.key\ntokenSecretKey=\n#tlsProtocols=TLSv1.3\n")
    text = run(conf, {"PULSAR_PREFIX_tokenSecretKey": "data:;base64,c2VjcmV0", "tlsProtocols": "TLSv1.3"})
    lines = text.splitlines()
    assert lines[1] == "tokenSecretKey=data:;base64,c2VjcmV0"
    assert lines[0].startswith("#")  # the comment stays a comment
    assert lines[2] == "tlsProtocols=TLSv1.3"  # only commented: the comment becomes the setting
