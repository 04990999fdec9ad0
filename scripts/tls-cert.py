#!/usr/bin/env python3
"""Certificates for the TLS tests, made with Debian's python3-cryptography:

    tls-cert.py DIR

writes DIR/ca.crt (a CA), DIR/server/server.crt + .key (for 127.0.0.1 and localhost, signed by
the CA, in a folder of their own so DIR itself is a certs.d folder for clients) and DIR/client.cert + DIR/client.key (a client certificate signed by the CA),
the file names docker and podman look for in certs.d folders.
"""

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DIR = sys.argv[1]
NOW = datetime.datetime.now(datetime.timezone.utc)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write(path, data):
    with open(os.path.join(DIR, path), "wb") as f:
        f.write(data)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def builder(subject, issuer, public_key):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=2))
    )


ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (
    builder(name("archlens test CA"), name("archlens test CA"), ca_key.public_key())
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    .sign(ca_key, hashes.SHA256())
)
write("ca.crt", ca.public_bytes(serialization.Encoding.PEM))

server_key = ec.generate_private_key(ec.SECP256R1())
server = (
    builder(name("127.0.0.1"), ca.subject, server_key.public_key())
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    .sign(ca_key, hashes.SHA256())
)
os.makedirs(os.path.join(DIR, "server"), exist_ok=True)
write("server/server.crt", server.public_bytes(serialization.Encoding.PEM))
write("server/server.key", key_pem(server_key))

client_key = ec.generate_private_key(ec.SECP256R1())
client = (
    builder(name("archlens test client"), ca.subject, client_key.public_key())
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    .sign(ca_key, hashes.SHA256())
)
write("client.cert", client.public_bytes(serialization.Encoding.PEM))
write("client.key", key_pem(client_key))
