"""The docker CLI's image round trips against ``wharf daemon``: commit, push, login, save, load, export."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from compat.conftest import Daemon
from harness.images import TestImages
from harness.registry import Registry


def test_commit_push_remove_pull_run_keeps_changes_and_deletions(daemon: Daemon, busybox: str,
                                                                registry: Registry) -> None:
    target = f"{registry.host}/committed:v1"
    daemon.docker("run", "--name", "changer", busybox, "sh", "-c", "echo changed > /etc/motd; rm /etc/group")
    image_id = daemon.docker("commit", "-c", 'CMD ["cat", "/etc/motd"]', "-m", "a change", "changer", target
                             ).stdout.strip()
    assert image_id.startswith("sha256:")
    pushed = daemon.docker("push", target).stdout
    assert "Mounted from busybox" in pushed or "Layer already exists" in pushed
    assert "v1: digest: sha256:" in pushed
    inspected = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{target}"],
                                          capture_output=True, text=True, check=True).stdout)
    assert len(inspected["Layers"]) == 2
    daemon.docker("rm", "changer")
    daemon.docker("rmi", target)
    daemon.docker("pull", target)
    assert daemon.docker("run", "--rm", target).stdout == "changed\n"
    gone = daemon.docker("run", "--rm", target, "ls", "/etc/group", check=False)
    assert gone.returncode == 1
    history = daemon.docker("history", "--no-trunc", "--format", "{{.Comment}}", target).stdout
    assert "a change" in history
    daemon.docker("rmi", target)


def test_login_then_push_to_an_authenticated_registry(daemon: Daemon, busybox: str, auth_registry: Registry) -> None:
    target = f"{auth_registry.host}/private/mine:v1"
    daemon.docker("tag", busybox, target)
    refused = daemon.docker("login", "-u", "wharf", "--password-stdin", auth_registry.host,
                            input="wrong password", check=False)
    assert refused.returncode == 1
    assert "wharf" in refused.stderr
    daemon.docker("login", "-u", "wharf", "--password-stdin", auth_registry.host,
                  input=str(auth_registry.password))
    assert "v1: digest:" in daemon.docker("push", target).stdout
    daemon.docker("logout", auth_registry.host)
    daemon.docker("rmi", target)


def test_save_load_and_export(daemon: Daemon, busybox: str, tmp_path: Path) -> None:
    daemon.docker("tag", busybox, "saved:v1")
    archive = tmp_path / "saved.tar"
    daemon.docker("save", "-o", str(archive), "saved:v1")
    with tarfile.open(archive) as handle:
        names = handle.getnames()
    assert "manifest.json" in names and "index.json" in names
    daemon.docker("rmi", "saved:v1")
    assert "Loaded image: saved:v1" in daemon.docker("load", "-i", str(archive)).stdout
    assert daemon.docker("run", "--rm", "saved:v1", "echo", "loaded").stdout == "loaded\n"
    daemon.docker("create", "--name", "exported", "saved:v1")
    exported = tmp_path / "fs.tar"
    daemon.docker("export", "-o", str(exported), "exported")
    with tarfile.open(exported) as handle:
        assert "bin/busybox" in [n.lstrip("./") for n in handle.getnames()]
    daemon.docker("rm", "exported")
    daemon.docker("rmi", "saved:v1")


def test_import_a_rootfs_tarball(daemon: Daemon, test_images: TestImages, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    subprocess.run(["cp", "/bin/busybox", str(rootfs / "bin" / "busybox")], check=True)
    (rootfs / "bin" / "sh").symlink_to("busybox")
    tarball = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    with open(tarball, "rb") as handle:
        imported = subprocess.run(["docker", "-H", daemon.host, "import", "-", "imported:v1"], stdin=handle,
                                  capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert daemon.docker("run", "--rm", "imported:v1", "/bin/busybox", "echo", "ok").stdout == "ok\n"
    daemon.docker("rmi", "imported:v1")
