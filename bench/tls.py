"""TLS for the Sentry emulator, kept inside bench/ (the emulator itself serves plain http).

The official connector builds its base URL as ``https://{hostname}/api/0/``: it can only talk to
an https server. ``make_certificates`` creates a throw-away CA and a server certificate for
127.0.0.1/localhost at run time (``cryptography`` if importable, else the ``openssl`` CLI), and
``TLSSentryEmulator`` is the emulator with its listening socket wrapped in an SSL context.
"""
from __future__ import annotations

import datetime as _dt
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any, Tuple

from sentry_emulator.server import SentryEmulator
from sentry_emulator.server.plumbing import Handler, Server


def make_certificates(directory: Path) -> Tuple[Path, Path, Path]:
    """Returns (ca_cert.pem, server_cert.pem, server_key.pem) written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return _with_cryptography(directory)
    except ImportError:
        return _with_openssl(directory)


def _with_cryptography(directory: Path) -> Tuple[Path, Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "source-sentry bench CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def _with_openssl(directory: Path) -> Tuple[Path, Path, Path]:
    ca_key, ca_path = directory / "ca.key", directory / "ca.pem"
    key_path, csr, cert_path = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )

    def run(*args: Any) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "7",
        "-subj", "/CN=source-sentry bench CA", "-keyout", ca_key, "-out", ca_path,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=127.0.0.1", "-keyout", key_path, "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca_path, "-CAkey", ca_key, "-CAcreateserial", "-days", "7",
        "-extfile", ext, "-out", cert_path)
    return ca_path, cert_path, key_path


class TLSSentryEmulator(SentryEmulator):
    """The emulator served over https. The TLS handshake runs in each connection's handler thread."""

    def __init__(self, *args: Any, certfile: Path, keyfile: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl_context.load_cert_chain(str(certfile), str(keyfile))

    @property
    def url(self) -> str:  # type: ignore[override]
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"https://{self.host}:{self.port}{self.path_prefix}"

    def start(self) -> "TLSSentryEmulator":
        if self._server is not None:
            return self
        context = self._ssl_context

        class _TLSHandler(Handler):
            emulator = self

            def setup(handler_self) -> None:  # noqa: N805 - handshake in the worker thread, not in accept()
                handler_self.request.settimeout(handler_self.timeout)
                handler_self.request = context.wrap_socket(handler_self.request, server_side=True)
                super().setup()

        server = Server((self.host, self.port), _TLSHandler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sentry-emulator-tls:{self.port}", daemon=True)
        self._thread.start()
        return self
