"""Network driver: bridges, veth pairs, IPAM, published ports (pyroute2)."""
