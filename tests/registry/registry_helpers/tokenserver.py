"""A small Bearer token issuer for the registry's ``token`` auth: ES256 JWTs with an x5c chain.

The Debian registry checks tokens but issues none. This issuer signs JWTs
with a P-256 key whose self-signed certificate is both the ``x5c`` header
and the registry's ``rootcertbundle``. It grants ``pull`` on ``public/*``
to everyone, everything to its one user, and records every request so
tests can see scopes, credentials and how many tokens were fetched.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

SERVICE = "wharf-test-registry"
ISSUER = "wharf-test-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenRequest:
    """One request the issuer saw."""

    params: list[tuple[str, str]]
    user: str | None
    authorization: str | None

    @property
    def scopes(self) -> list[str]:
        return [s for k, v in self.params if k == "scope" for s in v.split()]


@dataclass
class TokenServer:
    """The issuer; ``lifetime`` is the real ``exp``, ``expires_in`` what the answer claims."""

    username: str
    password: str
    certfile: Path
    lifetime: int = 300
    expires_in: int | None = 300
    token_field: str = "token"
    refresh_token: str = "wharf-refresh-token"
    requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wharf test token issuer")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.certfile.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def grant(self, user: str | None, scope: str) -> dict | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        wanted = [a for a in actions.split(",") if a]
        if user == self.username:
            allowed = wanted
        elif kind == "repository" and name.startswith("public/"):
            allowed = [a for a in wanted if a == "pull"]
        else:
            allowed = []
        return {"type": kind, "name": name, "actions": allowed}

    def issue(self, user: str | None, scopes: list[str]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": ISSUER, "sub": user or "", "aud": SERVICE, "iat": now, "nbf": now - 5,
                  "exp": now + self.lifetime, "jti": secrets.token_hex(8),
                  "access": [self.grant(user, s) for s in scopes]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                params = parse_qsl(urlsplit(self.path).query)
                authorization = self.headers.get("Authorization")
                user = None
                if authorization:
                    scheme, _, value = authorization.partition(" ")
                    name, _, password = base64.b64decode(value).decode().partition(":")
                    if scheme.lower() != "basic" or (name, password) != (issuer.username, issuer.password):
                        issuer.requests.append(TokenRequest(params, None, authorization))
                        self._answer(401, {"details": "bad credentials"})
                        return
                    user = name
                issuer.requests.append(TokenRequest(params, user, authorization))
                scopes = [v for k, v in params if k == "scope"]
                token = issuer.issue(user, scopes)
                body: dict = {"issued_at": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")}
                if issuer.token_field in ("token", "both"):
                    body["token"] = token
                if issuer.token_field in ("access_token", "both"):
                    body["access_token"] = token
                if issuer.expires_in is not None:
                    body["expires_in"] = issuer.expires_in
                self._answer(200, body)

            def do_POST(self) -> None:  # noqa: N802 - OAuth2: grant_type=refresh_token
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qsl(self.rfile.read(length).decode())
                fields = dict(form)
                ok = fields.get("grant_type") == "refresh_token" and fields.get("refresh_token") == issuer.refresh_token
                issuer.requests.append(TokenRequest(form, issuer.username if ok else None, None))
                if not ok:
                    self._answer(401, {"error": "invalid_grant"})
                    return
                token = issuer.issue(issuer.username, fields.get("scope", "").split())
                self._answer(200, {"access_token": token, "expires_in": issuer.expires_in or 300})

            def _answer(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
