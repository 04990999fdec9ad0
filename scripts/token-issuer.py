#!/usr/bin/env python3
"""A registry token service for the integration tests: signs real ES256 JWTs that Debian's
docker-registry (CNCF distribution 2.8, `auth: token`) verifies against the certificate this
script writes. Only Debian's python3-cryptography is needed.

    token-issuer.py DIR [--owner PID]

DIR/rules.json is read on every request, so a test can change the rules while it runs:

    {"service": "archlens-test", "issuer": "archlens-test-issuer", "lifetime": 300,
     "users": {"alice": {"password": "pw", "refresh_token": "rt-alice"}},
     "access": [{"user": "alice", "type": "repository", "name": "team/*", "actions": ["pull", "push"]},
                {"user": "anonymous", "type": "repository", "name": "public/*", "actions": ["pull"]}],
     "single_repository_tokens": false}

`user` is a user name, `anonymous` (no credentials) or `*` (anyone). `lifetime` may be negative
(tokens already expired). With `single_repository_tokens`, a request naming several
repositories gets access to the first only (as registries that refuse cross-repository
mounts do). Writes DIR/root.crt (the registry's rootcertbundle), DIR/port once listening, and
one JSON line per token request to DIR/requests.jsonl.
"""

import base64
import datetime
import fnmatch
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DIR = sys.argv[1]
OWNER = int(sys.argv[sys.argv.index("--owner") + 1]) if "--owner" in sys.argv else None

KEY = ec.generate_private_key(ec.SECP256R1())
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "archlens test token issuer")])
NOW = datetime.datetime.now(datetime.timezone.utc)
CERT = (
    x509.CertificateBuilder()
    .subject_name(NAME)
    .issuer_name(NAME)
    .public_key(KEY.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(NOW - datetime.timedelta(days=1))
    .not_valid_after(NOW + datetime.timedelta(days=2))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(KEY, hashes.SHA256())
)
CERT_DER = CERT.public_bytes(serialization.Encoding.DER)
LOCK = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rules():
    with open(os.path.join(DIR, "rules.json")) as f:
        return json.load(f)


def jwt(claims):
    header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def grant(cfg, user, scopes):
    """The access entries `user` gets for the requested scopes."""
    out = []
    repos_seen = 0
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3:
            continue
        typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
        if typ == "repository":
            repos_seen += 1
            if cfg.get("single_repository_tokens") and repos_seen > 1:
                continue
        allowed = set()
        for rule in cfg.get("access", []):
            who = rule.get("user")
            if who == "*" or who == user or (who == "anonymous" and user is None):
                if rule.get("type") == typ and fnmatch.fnmatchcase(name, rule.get("name", "")):
                    allowed.update(rule.get("actions", []))
        got = [a for a in actions if a in allowed or "*" in allowed]
        if got:
            out.append({"type": typ, "name": name, "actions": got})
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def note(self, entry):
        with LOCK, open(os.path.join(DIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    def basic_user(self, cfg):
        """(user, ok): user None for no credentials; ok False for wrong ones."""
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None, True
        try:
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except Exception:
            return None, False
        if name == "<token>":
            # docker's convention for an identity (refresh) token sent as a Basic password.
            found = next((n for n, u in cfg.get("users", {}).items() if password and u.get("refresh_token") == password), None)
            return found, found is not None
        user = cfg.get("users", {}).get(name)
        return name, bool(user) and user.get("password") == password

    def issue(self, cfg, user, scopes, method, grant_type, offline=False):
        access = grant(cfg, user, scopes)
        now = int(time.time())
        lifetime = int(cfg.get("lifetime", 300))
        claims = {
            "iss": cfg["issuer"], "sub": user or "", "aud": cfg["service"],
            "exp": now + lifetime, "nbf": min(now - 1, now + lifetime), "iat": now,
            "jti": uuid.uuid4().hex, "access": access,
        }
        token = jwt(claims)
        self.note({"method": method, "grant": grant_type, "user": user, "scopes": scopes, "access": access})
        body = {"token": token, "access_token": token, "expires_in": lifetime, "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        if offline and user:
            body["refresh_token"] = cfg["users"][user].get("refresh_token", "")
        self.reply(200, body)

    def do_GET(self):
        cfg = rules()
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token" or cfg.get("get_disabled"):
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        query = urllib.parse.parse_qs(url.query)
        user, ok = self.basic_user(cfg)
        if not ok:
            self.note({"method": "GET", "user": user, "refused": True})
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong user name or password"}]})
        self.issue(cfg, user, query.get("scope", []), "GET", "basic" if user else "anonymous", query.get("offline_token") == ["true"])

    def do_POST(self):
        cfg = rules()
        if urllib.parse.urlparse(self.path).path != "/token" or cfg.get("post_disabled"):
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        grant_type = form.get("grant_type", [""])[0]
        scopes = " ".join(form.get("scope", [])).split()
        user = None
        if grant_type == "password":
            name = form.get("username", [""])[0]
            u = cfg.get("users", {}).get(name)
            if not u or u.get("password") != form.get("password", [""])[0]:
                return self.reply(401, {"error": "invalid_grant"})
            user = name
        elif grant_type == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            user = next((n for n, u in cfg.get("users", {}).items() if rt and u.get("refresh_token") == rt), None)
            if user is None:
                self.note({"method": "POST", "grant": grant_type, "refused": True})
                return self.reply(401, {"error": "invalid_grant"})
        else:
            return self.reply(400, {"error": "unsupported_grant_type"})
        self.issue(cfg, user, scopes, "POST", grant_type, form.get("access_type") == ["offline"])


def watch_owner():
    while True:
        try:
            os.kill(OWNER, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    with open(os.path.join(DIR, "root.crt"), "wb") as f:
        f.write(CERT.public_bytes(serialization.Encoding.PEM))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if OWNER:
        threading.Thread(target=watch_owner, daemon=True).start()
    with open(os.path.join(DIR, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
