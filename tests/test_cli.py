"""The command line as a person uses it: real processes, a real PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from tests.support import free_port

ROOT = Path(__file__).parents[1]



def safeaccom(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def wait_ready(url: str, process: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("service never became ready")


def postgres_running_in(folder: Path) -> bool:
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        if proc.info["name"] == "postgres" and any(str(folder) in part for part in proc.info["cmdline"] or []):
            return True
    return False


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sad-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_demo(data_dir: Path) -> tuple[dict[str, str], int]:
    """Start `safeaccom demo`, read its keys, count vacancies with the officer key, stop it with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"SAFEACCOM_DATA_DIR": str(data_dir)}
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "demo", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        keys: dict[str, str] = {}
        assert process.stdout is not None
        while len(keys) < 4:
            line = process.stdout.readline()
            assert line, f"demo printed no keys: {process.stderr.read() if process.stderr else ''}"
            role, key = line.split()
            keys[role] = key
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        response = httpx.get(f"{url}/api/v1/vacancies", params={"limit": 200},
                             headers={"Authorization": f"Bearer {keys['officer']}"})
        assert response.status_code == 200
        assert "address" not in response.text and "Example Street" not in response.text
        for role in ("admin", "provider", "commissioner"):
            assert httpx.get(f"{url}/api/v1/authorities", headers={"Authorization": f"Bearer {keys[role]}"}
                             ).status_code == 200
        return keys, response.json()["total"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_demo_serves_the_demo_data_twice_without_duplicating_and_leaves_nothing_running(data_dir: Path) -> None:
    first_keys, first_total = run_demo(data_dir)
    assert set(first_keys) == {"admin", "officer", "provider", "commissioner"}
    assert first_total >= 30
    assert not postgres_running_in(data_dir), "the embedded PostgreSQL outlived the demo"
    second_keys, second_total = run_demo(data_dir)
    assert second_total == first_total
    assert set(second_keys.values()).isdisjoint(first_keys.values())
    assert not postgres_running_in(data_dir)


@pytest.mark.usefixtures("engine")  # migrated
def test_serve_and_create_key_against_database_url(database_url: str) -> None:
    env = dict(os.environ) | {"DATABASE_URL": database_url, "SAFEACCOM_SCHEDULER": "0"}
    created = safeaccom("create-key", "--role", "commissioner", "--name", "cli test", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sak_") and len(key) > 40
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        assert httpx.get(f"{url}/api/v1/authorities", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert httpx.get(f"{url}/api/v1/vacancies", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert httpx.get(f"{url}/api/v1/vacancies", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert httpx.get(f"{url}/schema/openapi.json").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) is not None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--role", "officer", "--name", "x"], "--authority"),
        (["--role", "officer", "--name", "x", "--authority", "E99999999"], "--authority"),
        (["--role", "provider", "--name", "x"], "--provider"),
        (["--role", "provider", "--name", "x", "--provider", "999999"], "--provider"),
        (["--role", "admin", "--name", " "], "--name"),
    ],
)
@pytest.mark.usefixtures("engine")
def test_create_key_refuses_bad_input_with_exit_2_and_one_line(database_url: str, args: list[str], field: str) -> None:
    result = safeaccom("create-key", *args, env=dict(os.environ) | {"DATABASE_URL": database_url})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr


def test_bad_database_url_is_refused_with_exit_2() -> None:
    result = safeaccom("migrate", env=dict(os.environ) | {"DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr


def test_docker_compose_file_is_valid() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    postgres, service = compose["services"]["postgres"], compose["services"]["service"]
    assert postgres["image"].startswith("postgres:16") and postgres["healthcheck"]["test"]
    assert any(v.startswith("pgdata:") for v in postgres["volumes"]) and "pgdata" in compose["volumes"]
    assert service["build"] == "." and service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
    binary = shutil.which("docker-compose")
    assert binary, ("install Debian's docker-compose (apt-get install --no-install-recommends docker-compose; "
                    "scripts/test does)")
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    result = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, timeout=60, env=env | {"POSTGRES_PASSWORD": "s3cret"})
    assert result.returncode == 0, result.stderr

    # No default password: without one, compose refuses to start anything.
    refused = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "change-me" not in text and ":-" not in postgres["environment"]["POSTGRES_PASSWORD"]
    # TLS in front: only Caddy publishes ports, bound to 127.0.0.1 unless told otherwise; the service
    # publishes none and marks its session cookie Secure.
    caddy = compose["services"]["caddy"]
    assert caddy["image"].startswith("caddy:") and (ROOT / "deploy" / "Caddyfile").is_file()
    assert all(port.startswith("${SAFEACCOM_BIND:-127.0.0.1}:") for port in caddy["ports"])
    assert "ports" not in service and "ports" not in postgres
    assert service["environment"]["SAFEACCOM_SECURE_COOKIES"] == "1"


def test_openapi_command_writes_the_committed_spec() -> None:
    result = safeaccom("openapi")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads((ROOT / "api_spec" / "openapi.json").read_text())


@pytest.mark.usefixtures("engine")  # migrated
def test_revoke_key_by_prefix_or_id_stops_the_key(database_url: str) -> None:
    import asyncio

    from service import db
    from service.access import service as access

    env = dict(os.environ) | {"DATABASE_URL": database_url}

    async def works(key: str) -> bool:
        engine = db.create_engine(database_url)
        try:
            async with db.session_maker(engine).begin() as session:
                return await access.authenticate(session, key) is not None
        finally:
            await engine.dispose()

    keys = []
    for name in ("revoke by prefix", "revoke by id"):
        created = safeaccom("create-key", "--role", "admin", "--name", name, "--expires-in-days", "30", env=env)
        assert created.returncode == 0, created.stderr
        keys.append(created.stdout.strip().splitlines()[-1])
        key_id = created.stdout.split(" key ")[1].split()[0]
    assert all(asyncio.run(works(key)) for key in keys)

    by_prefix = safeaccom("revoke-key", "--prefix", keys[0][:12], env=env)
    assert by_prefix.returncode == 0 and "revoked admin key" in by_prefix.stdout, by_prefix.stderr
    by_id = safeaccom("revoke-key", "--id", key_id, env=env)
    assert by_id.returncode == 0, by_id.stderr
    assert not asyncio.run(works(keys[0])) and not asyncio.run(works(keys[1]))

    unknown = safeaccom("revoke-key", "--prefix", "sak_nosuchkey", env=env)
    assert unknown.returncode == 2 and "not found" in unknown.stderr
    assert safeaccom("revoke-key", env=env).returncode == 2  # which key: required


@contextlib.contextmanager
def serving(database_url: str, workers: int, **settings: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`safeaccom serve --workers N` on a free port against the test database: (the process, its port)."""
    env = dict(os.environ) | {"DATABASE_URL": database_url, "SAFEACCOM_SCHEDULER": "0", **settings}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) is not None


@pytest.mark.usefixtures("engine")  # migrated
def test_serve_bounds_connections_and_closes_those_whose_headers_never_finish(database_url: str) -> None:
    with serving(database_url, 1, SAFEACCOM_MAX_CONNECTIONS="2", SAFEACCOM_HEADER_TIMEOUT_SECONDS="2") as (process,
                                                                                                       port):
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        # Two clients that send a header line and then nothing (slowloris) ...
        slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(2)]
        for conn in slow:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        # ... take the server's connections: a third client is told 503 at once, not queued.
        assert httpx.get(f"{url}/health", timeout=10).status_code == 503
        # Their headers never finish: the server hangs up on them, and serves again.
        for conn in slow:
            assert conn.recv(1024) == b""
            conn.close()
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200


@pytest.mark.usefixtures("engine")  # migrated
def test_serve_refuses_a_request_head_over_16_kib_and_serves_the_next_connection(database_url: str) -> None:
    # (a header deadline far off, so that it is the size limit that hangs up)
    with serving(database_url, 1, SAFEACCOM_HEADER_TIMEOUT_SECONDS="120") as (process, port):
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        assert httpx.get(f"{url}/health", headers={"X-Padding": "a" * 8000}, timeout=10).status_code == 200
        padding = "".join(f"X-Padding-{n}: {'a' * 1000}\r\n" for n in range(40))  # 40 KiB of headers
        answer = b""
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            try:
                conn.sendall(f"GET /health HTTP/1.1\r\nHost: x\r\n{padding}\r\n".encode())
                while chunk := conn.recv(4096):
                    answer += chunk
            except ConnectionResetError:  # it hung up with our headers still unread
                pass
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:40]  # refused, never served
        # One header line that never ends: refused once it passes the limit, not buffered until the deadline.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            answer = b""
            try:
                for _ in range(64):  # up to 1 MiB, in 16 KiB pieces
                    conn.sendall(b"a" * 16384)
                    time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):  # it hung up on us
                pass
            with contextlib.suppress(ConnectionResetError):
                answer = conn.recv(4096)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:40]
            with pytest.raises(OSError):  # the connection is gone
                for _ in range(8):
                    conn.sendall(b"a" * 16384)
                    time.sleep(0.05)
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200


@pytest.mark.usefixtures("engine")  # migrated
def test_serve_with_workers_spreads_connections_over_them(database_url: str) -> None:
    with serving(database_url, 2) as (process, port):

        def workers_listening() -> list[psutil.Process]:
            return [child for child in psutil.Process(process.pid).children()
                    if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                           for c in child.net_connections("tcp"))]

        deadline = time.monotonic() + 90
        while len(workers_listening()) < 2:  # both workers up, as a client opening many connections would find them
            assert time.monotonic() < deadline and process.poll() is None, "the workers never started"
            time.sleep(0.2)
        # Forty keep-alive connections opened at once, each then sending a request.
        clients = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(40)]
        try:
            for conn in clients:
                conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            for conn in clients:
                assert conn.recv(4096).startswith(b"HTTP/1.1 200")
            held = sorted(sum(1 for c in worker.net_connections("tcp")
                              if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
                          for worker in workers_listening())
            assert sum(held) == 40
            assert held[0] >= 8, f"one worker holds {held[1]} of the 40 connections, the other {held[0]}"
        finally:
            for conn in clients:
                conn.close()


def test_serve_refuses_a_bad_worker_count_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_workers_database_pools_stay_under_postgresql_default_connection_limit() -> None:
    from service.serving import pool_size_for

    assert pool_size_for(1) == pool_size_for(2) == pool_size_for(4) == 20
    for workers in range(1, 19):  # up to 18 workers, together they keep at most 90 of PostgreSQL's 100
        assert 5 <= pool_size_for(workers) and workers * pool_size_for(workers) <= 90, workers
