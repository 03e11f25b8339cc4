"""The `java` MongoDB engine of the local stack: mongo-java-server with its H2 backend.

`ensure_libs` copies the pinned server and its runtime dependencies into one folder with
Maven (`dependency:copy-dependencies` on the committed `mongo_java/pom.xml`), once per
version; `command` is the argv that runs the committed `mongo_java/Main.java` (Java 11+
single-file source launch, no compile step) on one MVStore file; `answers` sends a real
OP_MSG `ping` without any driver (the stack's own environment has no pymongo).
"""

from __future__ import annotations

import importlib.resources
import re
import shutil
import socket
import struct
from pathlib import Path

from crm_stack import maven
from crm_stack.config import StackError

_PACKAGE_DIR = Path(str(importlib.resources.files("crm_stack") / "mongo_java"))
POM = _PACKAGE_DIR / "pom.xml"
MAIN_SOURCE = _PACKAGE_DIR / "Main.java"
# What `cmdline` of our server contains (tells our process from a stranger on the port).
MARKER = "mongo_java/Main.java"
HEAP = ("-Xms64m", "-Xmx512m")
# Connection open/close is logged at INFO for every client; keep the log readable.
QUIET = ("-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn",)
DATA_FILE = "crm.mv.db"
_OP_MSG = 2013


def server_version() -> str:
    """The mongo-java-server release pinned in the committed pom.xml."""
    found = re.search(r"<mongo-java-server\.version>([^<]+)</", POM.read_text())
    if found is None:
        raise StackError(f"no <mongo-java-server.version> in {POM}")
    return found.group(1)


def label() -> str:
    return f"mongo-java-server {server_version()} (H2 MVStore, MongoDB-protocol stand-in)"


def libs_ready(libs_dir: Path) -> bool:
    return maven.libs_ready(libs_dir)


def ensure_libs(libs_dir: Path, log_file: Path) -> None:
    """Resolve the server into `libs_dir` with Maven, unless a previous run did."""
    if shutil.which("java") is None:
        raise StackError("the java MongoDB engine needs Java 11 or later (`java`)")
    maven.copy_dependencies(
        POM,
        libs_dir,
        log_file,
        expect="mongo-java-server-h2-backend-*.jar",
        what="mongo-java-server",
        version=server_version(),
    )


def command(libs_dir: Path, host: str, port: int, data_file: Path) -> list[str]:
    """Run Main.java on the resolved jars; every request commits the store (see Main)."""
    java = shutil.which("java") or "java"
    return [
        java,
        *HEAP,
        *QUIET,
        "-Djava.awt.headless=true",
        "-cp",
        f"{libs_dir}/*",
        str(MAIN_SOURCE),
        "--host",
        host,
        "--port",
        str(port),
        "--data",
        str(data_file),
        "--commit",
        "write",
    ]


def _bson_ping() -> bytes:
    """BSON of {ping: 1, $db: "admin"}."""
    db = b"admin\x00"
    body = b"\x10ping\x00" + struct.pack("<i", 1)
    body += b"\x02$db\x00" + struct.pack("<i", len(db)) + db
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def ping_request(request_id: int = 7302) -> bytes:
    """An OP_MSG carrying `ping` (header, flag bits, one kind-0 section)."""
    payload = struct.pack("<I", 0) + b"\x00" + _bson_ping()
    return struct.pack("<iiii", 16 + len(payload), request_id, 0, _OP_MSG) + payload


def ping_succeeded(reply: bytes, request_id: int = 7302) -> bool:
    """Whether `reply` is the OP_MSG answer to our ping with `ok: 1.0`."""
    if len(reply) < 21:
        return False
    _length, _rid, response_to, opcode = struct.unpack("<iiii", reply[:16])
    ok = b"\x01ok\x00" + struct.pack("<d", 1.0)
    return response_to == request_id and opcode == _OP_MSG and ok in reply[21:]


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(ping_request())
            reply = b""
            while len(reply) < 4 or len(reply) < struct.unpack("<i", reply[:4])[0]:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                reply += chunk
    except OSError:
        return False
    return ping_succeeded(reply)
