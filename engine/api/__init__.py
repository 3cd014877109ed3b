"""The daemon: Docker Engine API over HTTP/1.1 on a unix socket."""
