"""iptables rules in Wharf's own chains: outbound NAT, forwarding, published ports.

Chains (all created and removed by Wharf; built-in chains get one jump each)::

    nat    PREROUTING  -m addrtype --dst-type LOCAL -j WHARF
    nat    OUTPUT      -m addrtype --dst-type LOCAL -j WHARF
    nat    POSTROUTING -j WHARF-POSTROUTING
    filter FORWARD     -j WHARF-FORWARD               (inserted first)

    WHARF             -j WHARF-<tag>        DNAT of published ports
    WHARF-POSTROUTING -j WHARF-POST-<tag>   MASQUERADE: outbound, loopback, hairpin
    WHARF-FORWARD     -j WHARF-FWD-<tag>    ACCEPT for Wharf's bridges
    WHARF-FWD-<tag>   -i <br> ! -o <br> -j WHARF-ISO-<tag>
    WHARF-ISO-<tag>   -o <br> -j DROP       no traffic from one bridge into another

``<tag>`` names one engine state root (8 hex digits of its path's hash), so
two engines on one host (a daemon and a test run) never touch each other's
rules. Docker's chains and the tables' default policies are never changed:
on a host where dockerd set ``FORWARD`` to DROP, the ACCEPT rules here let
Wharf's bridges through.

Rules are written in the exact form ``iptables-save`` prints them, so the
driver can compare what the kernel has with what its state wants and apply
only the difference, in one ``iptables-restore --noflush`` batch. Adding is
cheap (about 2 ms); deleting costs more on the nft backend (10-30 ms), and
only happens on stop and remove.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from engine.errors import NetworkError
from engine.network.records import PortBinding

_TIMEOUT = 30


@dataclass(frozen=True)
class Rule:
    """One iptables rule.

    Attributes:
        table: ``"nat"`` or ``"filter"``.
        chain: the chain it lives in.
        spec: the rule as ``iptables-save`` prints it after ``-A <chain> ``.
        top: insert it first in its chain instead of appending it.
    """

    table: str
    chain: str
    spec: str
    top: bool = False


def root_tag(root: str) -> str:
    """The 8-hex-digit tag naming one state root's chains."""
    return hashlib.sha256(root.encode()).hexdigest()[:8]


def _run(argv: list[str], stdin: str | None = None) -> str:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NetworkError(f"cannot run {argv[0]}: {error}") from error
    if done.returncode != 0:
        raise NetworkError(f"{' '.join(argv[:3])} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


class Firewall:
    """The rules of one state root, and the shared chains they hang from.

    Args:
        tag: the root's tag (:func:`root_tag`).
    """

    SHARED = (("nat", "WHARF"), ("nat", "WHARF-POSTROUTING"), ("filter", "WHARF-FORWARD"))
    BUILTIN_JUMPS = (
        Rule("nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j WHARF"),
        Rule("nat", "OUTPUT", "-m addrtype --dst-type LOCAL -j WHARF"),
        Rule("nat", "POSTROUTING", "-j WHARF-POSTROUTING"),
        Rule("filter", "FORWARD", "-j WHARF-FORWARD", top=True),
    )

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.dnat = f"WHARF-{tag}"
        """nat chain with this root's DNAT rules."""
        self.post = f"WHARF-POST-{tag}"
        """nat chain with this root's MASQUERADE rules."""
        self.forward = f"WHARF-FWD-{tag}"
        """filter chain with this root's forwarding rules."""
        self.isolation = f"WHARF-ISO-{tag}"
        """filter chain dropping traffic between this root's bridges (Docker's two-stage isolation)."""
        self._present: set[tuple[str, str, str]] | None = None

    # reading -----------------------------------------------------------------

    @staticmethod
    def _saved(table: str) -> tuple[set[str], set[tuple[str, str]]]:
        """(chain names, (chain, spec) rules) of ``table`` as iptables-save prints them."""
        chains: set[str] = set()
        rules: set[tuple[str, str]] = set()
        for line in _run(["iptables-save", "-t", table]).splitlines():
            if line.startswith(":"):
                chains.add(line[1:].split()[0])
            elif line.startswith("-A "):
                chain, _, spec = line[3:].partition(" ")
                rules.add((chain, spec))
        return chains, rules

    def _own(self, chain: str) -> bool:
        return chain in self._chains()

    def _chains(self) -> tuple[str, ...]:
        return (self.dnat, self.post, self.forward, self.isolation)

    def present(self) -> set[tuple[str, str, str]]:
        """(table, chain, spec) of every rule now in this root's chains (read once, then tracked)."""
        if self._present is None:
            self._present = set()
            for table in ("nat", "filter"):
                _, rules = self._saved(table)
                self._present |= {(table, c, s) for c, s in rules if self._own(c)}
        return self._present

    # the chains ----------------------------------------------------------------

    def ensure_chains(self) -> None:
        """Create the shared and this root's chains and their jumps, once; idempotent.

        Another engine on the host may be doing the same at the same moment:
        a batch that loses that race is read again and retried.
        """
        for attempt in range(3):
            try:
                self._ensure_chains()
                return
            except NetworkError:
                if attempt == 2:
                    raise

    def _ensure_chains(self) -> None:
        for table in ("nat", "filter"):
            chains, rules = self._saved(table)
            lines: list[str] = []
            wanted_chains = [c for t, c in self.SHARED if t == table]
            wanted_chains += [self.dnat, self.post] if table == "nat" else [self.forward,
                                                                             self.isolation]
            for chain in wanted_chains:
                if chain not in chains:
                    lines.append(f"-N {chain}")
            jumps = [r for r in self.BUILTIN_JUMPS if r.table == table]
            parents = {"WHARF": self.dnat, "WHARF-POSTROUTING": self.post,
                       "WHARF-FORWARD": self.forward}
            jumps += [Rule(t, c, f"-j {parents[c]}") for t, c in self.SHARED if t == table]
            for rule in jumps:
                if (rule.chain, rule.spec) not in rules:
                    lines.append(f"-I {rule.chain} 1 {rule.spec}" if rule.top
                                 else f"-A {rule.chain} {rule.spec}")
            if lines:
                self._restore({table: lines})

    def teardown(self) -> None:
        """Remove this root's chains and jumps; the shared chains too once nobody uses them.

        Both tables are cleaned even when one fails; the first failure is raised at the end.
        """
        failures: list[NetworkError] = []
        for table in ("nat", "filter"):
            try:
                self._teardown_table(table)
            except NetworkError as error:
                failures.append(error)
        self._present = set()
        if failures:
            raise failures[0]

    def _teardown_table(self, table: str) -> None:
        chains, rules = self._saved(table)
        mine = [c for c in self._chains() if c in chains]
        lines = [f"-D {c} {s}" for c, s in sorted(rules) if s.split()[-1] in mine
                 and c in ("WHARF", "WHARF-POSTROUTING", "WHARF-FORWARD")]
        lines += [f"-F {c}" for c in mine] + [f"-X {c}" for c in mine]
        if lines:
            self._restore({table: lines})
        # Another engine on the host may hang its chain in a shared one (or jump to it) between
        # our read and our batch: the batch then fails, and a fresh read decides again.
        for attempt in range(3):
            try:
                self._drop_unused_shared(table)
                return
            except NetworkError:
                if attempt == 2:
                    raise

    def _drop_unused_shared(self, table: str) -> None:
        chains, rules = self._saved(table)
        for shared_table, shared in self.SHARED:
            if shared_table != table or shared not in chains:
                continue
            if any(c == shared for c, _ in rules):
                continue  # another root still hangs its chain here
            unjump = [f"-D {c} {s}" for c, s in sorted(rules) if s.endswith(f"-j {shared}")]
            self._restore({table: unjump + [f"-X {shared}"]})

    # rules ---------------------------------------------------------------------

    def apply(self, add: Iterable[Rule] = (), remove: Iterable[Rule] = (), retry: bool = True) -> int:
        """Add and remove rules in one batch, skipping what is already so. Returns rules changed."""
        add, remove = list(add), list(remove)
        present = self.present()
        by_table: dict[str, list[str]] = {}
        changed: list[tuple[bool, tuple[str, str, str]]] = []
        for rule in remove:
            key = (rule.table, rule.chain, rule.spec)
            if key in present and (False, key) not in changed:
                by_table.setdefault(rule.table, []).append(f"-D {rule.chain} {rule.spec}")
                changed.append((False, key))
        tops: dict[str, list[str]] = {}
        for rule in add:
            key = (rule.table, rule.chain, rule.spec)
            if key in present or (True, key) in changed:
                continue
            if rule.top:
                tops.setdefault(rule.table, []).append(f"-I {rule.chain} 1 {rule.spec}")
            else:
                by_table.setdefault(rule.table, []).append(f"-A {rule.chain} {rule.spec}")
            changed.append((True, key))
        for table, lines in tops.items():
            by_table.setdefault(table, []).extend(reversed(lines))
        if not changed:
            return 0
        try:
            self._restore(by_table)
        except NetworkError:
            if not retry:
                raise
            # someone changed our chains behind our back: read them again, retry once
            self._present = None
            return self.apply(add, remove, retry=False)
        for added, key in changed:
            if added:
                present.add(key)
            else:
                present.discard(key)
        return len(changed)

    def sync(self, wanted: Iterable[Rule]) -> int:
        """Make this root's chains hold exactly ``wanted`` (for reconcile). Returns rules changed."""
        self._present = None
        wanted = list(wanted)
        keys = {(r.table, r.chain, r.spec) for r in wanted}
        stale = [Rule(t, c, s) for t, c, s in self.present() if (t, c, s) not in keys]
        return self.apply(add=wanted, remove=stale)

    @staticmethod
    def _restore(by_table: dict[str, list[str]]) -> None:
        text = "".join(f"*{table}\n" + "".join(f"{line}\n" for line in lines) + "COMMIT\n"
                       for table, lines in by_table.items() if lines)
        if text:
            _run(["iptables-restore", "-w", "--noflush"], stdin=text)

    # what to write ---------------------------------------------------------------

    def network_rules(self, bridge: str, subnet: str, internal: bool) -> list[Rule]:
        """The rules one bridge network needs: NAT out, loopback sources, forwarding, isolation."""
        rules = [
            Rule("nat", self.post, f"-s 127.0.0.0/8 -o {bridge} -j MASQUERADE"),
            # containers on one bridge talk to each other; not to other Wharf bridges
            Rule("filter", self.forward, f"-i {bridge} -o {bridge} -j ACCEPT", top=True),
            Rule("filter", self.forward, f"-i {bridge} ! -o {bridge} -j {self.isolation}",
                 top=True),
            Rule("filter", self.isolation, f"-o {bridge} -j DROP"),
        ]
        if internal:
            rules += [Rule("filter", self.forward, f"-i {bridge} ! -o {bridge} -j DROP"),
                      Rule("filter", self.forward, f"! -i {bridge} -o {bridge} -j DROP")]
        else:
            rules += [
                Rule("nat", self.post, f"-s {subnet} ! -o {bridge} -j MASQUERADE"),
                Rule("filter", self.forward,
                     f"-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
                Rule("filter", self.forward, f"-i {bridge} ! -o {bridge} -j ACCEPT"),
            ]
        return rules

    def port_rules(self, binding: PortBinding, bridge: str) -> list[Rule]:
        """The rules one published port needs: DNAT, FORWARD accept, hairpin MASQUERADE."""
        proto, cip, cport = binding.protocol, binding.container_ip, binding.container_port
        match = f"-p {proto} -m {proto} --dport"
        dest = f"-d {binding.host_ip}/32 " if binding.host_ip else ""
        return [
            Rule("nat", self.dnat, f"{dest}{match} {binding.host_port} "
                                   f"-j DNAT --to-destination {cip}:{cport}"),
            Rule("filter", self.forward,
                 f"-d {cip}/32 ! -i {bridge} -o {bridge} {match} {cport} -j ACCEPT"),
            Rule("nat", self.post, f"-s {cip}/32 -d {cip}/32 {match} {cport} -j MASQUERADE"),
        ]
