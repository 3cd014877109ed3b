"""Exec driver and libcontainer: launcher, shim, container init, cgroups, capabilities, seccomp."""
