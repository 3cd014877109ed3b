"""The client: docker-py's shape on httpx; the console talks to engines only through it."""
