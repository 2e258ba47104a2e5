"""Tiny socket servers on 127.0.0.1 that answer the way a wrong base URL might: garbage, silence, a reset,
a chosen HTTP answer, a TLS certificate nobody trusts. Each records what it received."""

import datetime
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Handler = Callable[[socket.socket], None]


class RawServer:
    def __init__(self, port: int):
        self.port = port
        self.received = bytearray()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _read_request(conn: socket.socket, server: RawServer) -> None:
    """The request line, headers and body, as far as the client sends them."""
    conn.settimeout(2)
    request = bytearray()
    try:
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(65536)
            if not chunk:
                break
            request += chunk
        head, _, body = bytes(request).partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        while length and len(body) < int(length[1]):
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
            request += chunk
    except OSError:
        pass
    server.received += request


@contextmanager
def raw_server(answer: Callable[[socket.socket, RawServer], None]) -> Iterator[RawServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # so the loop sees `stop` soon after the test is done
    server = RawServer(listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with conn:
                answer(conn, server)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def garbage(conn: socket.socket, server: RawServer) -> None:
    _read_request(conn, server)
    conn.sendall(b"\x00\xffSSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n")


def silence(conn: socket.socket, server: RawServer) -> None:
    _read_request(conn, server)
    conn.settimeout(5)
    try:
        while conn.recv(1):  # say nothing until the client gives up and hangs up
            pass
    except OSError:
        return


def reset(conn: socket.socket, server: RawServer) -> None:
    _read_request(conn, server)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def http_answer(status: int, body: bytes, content_type: str = "text/html") -> Callable:
    def answer(conn: socket.socket, server: RawServer) -> None:
        _read_request(conn, server)
        head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)

    return answer


def self_signed_tls(directory: Path) -> Callable:
    """A TLS server whose certificate nobody trusts; past the handshake it answers 200."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    plain = http_answer(200, b"{}", "application/json")

    def answer(conn: socket.socket, server: RawServer) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                plain(tls, server)
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate, as it should

    return answer
