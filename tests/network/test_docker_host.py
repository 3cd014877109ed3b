"""On a host where dockerd runs (FORWARD policy DROP, Docker's chains), Wharf still works.

The host is simulated by a private network namespace with its own iptables
tables (see ``dockerhost_scenario.py``), so the real firewall's policies are
never changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_wharf_works_beside_dockers_drop_policy_and_leaves_its_chains_alone() -> None:
    """Bridged, routed and published traffic pass; Docker's rules and the policy stay as they were."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE.parents[1])])}
    done = subprocess.run(
        ["unshare", "--net", "--mount", "--propagation", "private",
         sys.executable, str(HERE / "dockerhost_scenario.py")],
        capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["bridged"] and found["routed"], found
    assert found["published"] and found["published_from_outside"], found
    assert found["docker_untouched"] and found["policy"] == "-P FORWARD DROP", found
    assert found["wharf_left"] == [], found
