"""A host where dockerd runs, simulated inside a private network namespace (run as a script).

``test_docker_host.py`` starts this file with ``unshare --net --mount``, so
everything here (the FORWARD policy DROP that dockerd sets, Docker-like
chains, Wharf's bridges and rules) lives in a namespace of its own and its
own iptables tables; the real host's firewall is never touched. It prints one
JSON object with what it saw.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from network.nethelpers import Sandbox, http_from_host, wait_for

from engine.jobs import EventBus
from engine.network import NetworkDriver, PortBinding, render_hosts


def sh(*argv: str) -> str:
    """Run a command here; its stdout."""
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def make_box(root: Path, name: str) -> Sandbox:
    """A stand-in container (as the tests' fixture makes them)."""
    import secrets

    container_id = secrets.token_hex(32)
    folder = root / "containers" / container_id
    folder.mkdir(parents=True)
    hosts = folder / "hosts"
    hosts.write_text(render_hosts(name))
    ready = folder / "ready"
    process = subprocess.Popen(
        ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
         f"mount --bind {hosts} /etc/hosts && touch {ready} && exec sleep 600"])
    wait_for(ready.exists)
    return Sandbox(container_id, name, process, hosts, name)


def docker_lines() -> list[str]:
    """Docker's chains, rules and the FORWARD policy, without packet counters."""
    return sorted(line.split(" [")[0] for line in sh("iptables-save").splitlines()
                  if "DOCKER" in line or line.startswith(":FORWARD"))


def docker_like_firewall() -> None:
    """What dockerd leaves: FORWARD policy DROP and its own chains and jumps."""
    restore = ("*filter\n:DOCKER-USER - [0:0]\n:DOCKER - [0:0]\n-A DOCKER-USER -j RETURN\n"
               "-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\nCOMMIT\n"
               "*nat\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
               "COMMIT\n")
    subprocess.run(["iptables-restore", "--noflush"], input=restore, text=True, check=True)
    sh("iptables", "-P", "FORWARD", "DROP")


def main() -> None:
    """Run the scenario and print the findings as JSON."""
    sh("ip", "link", "set", "lo", "up")
    docker_like_firewall()
    docker_before = docker_lines()
    root = Path(tempfile.mkdtemp(prefix="wharf-dockerhost-"))
    driver = NetworkDriver(root, EventBus())
    boxes: list[Sandbox] = []
    found: dict[str, object] = {}
    try:
        server, client, outside = (make_box(root, n) for n in ("server", "client", "outside"))
        boxes += [server, client, outside]
        server_ep = driver.connect("bridge", server.id, server.netns, "server")
        driver.connect("bridge", client.id, client.netns, "client")
        server.serve_http(root / "www", "through a DROP policy\n")
        # bridged traffic (br_netfilter sends it through FORWARD)
        found["bridged"] = "through a DROP policy" in client.http_get(server_ep.ip)
        # routed traffic: to a namespace behind another link, masqueraded
        sh("ip", "link", "add", "whtout0", "type", "veth", "peer", "name", "eth0",
           "netns", str(outside.pid))
        sh("ip", "addr", "add", "10.234.0.1/30", "dev", "whtout0")
        sh("ip", "link", "set", "whtout0", "up")
        outside.run("ip", "addr", "add", "10.234.0.2/30", "dev", "eth0")
        outside.run("ip", "link", "set", "eth0", "up")
        outside.serve_http(root / "outside", "outside answers\n")
        found["routed"] = "outside answers" in server.http_get("10.234.0.2")
        [binding] = driver.publish(server.id, server_ep, [PortBinding(80)])
        found["published"] = b"through a DROP policy" in http_from_host("127.0.0.1", binding.host_port)
        found["published_from_outside"] = "through a DROP policy" in outside.http_get(
            "10.234.0.1", binding.host_port)
    finally:
        for box in boxes:
            box.stop()
        driver.teardown()
        shutil.rmtree(root, ignore_errors=True)
    found["docker_untouched"] = docker_before == docker_lines()
    found["policy"] = sh("iptables", "-S", "FORWARD").splitlines()[0]
    found["wharf_left"] = [line for line in sh("iptables-save").splitlines() if "WHARF" in line]
    print(json.dumps(found))


if __name__ == "__main__":
    sys.exit(main())
