"""Webhooks cannot reach inside the service's network, and a slow receiver cannot stall deliveries.

Receivers here are real servers on 127.0.0.1: the service is refused when it may not send there
(the default) and reaches them when the deployment allows internal receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import db
from service.app import create_app
from service.jobs import all_jobs
from service.notifications import egress
from service.notifications import service as notifications
from service.notifications.models import MessageStatus, OutboxMessage, Webhook
from service.scheduler import JobRun, run_job
from service.settings import Settings
from tests.service.conftest import KIRKLEES, World
from tests.service.notifications.conftest import Receiver


def _port(receiver: Receiver) -> int:
    return int(receiver.url.rsplit(":", 1)[1])


def _internal_forms(port: int) -> list[str]:
    """127.0.0.1, 0.0.0.0, 169.254.169.254 and the service's neighbours, written every way a resolver accepts."""
    return [
        f"http://2130706433:{port}/hook", f"http://127.1:{port}/hook", f"http://0x7f000001:{port}/hook",
        f"http://0:{port}/hook", f"http://0177.0.0.1:{port}/hook", f"http://0x7f.0.0.1:{port}/hook",
        f"http://127.0.0.1.:{port}/hook", f"http://017700000001:{port}/hook",
        "http://2852039166/latest/meta-data/", "http://0xa9fea9fe/latest/meta-data/",
        f"http://[::1]:{port}/hook", f"http://[::ffff:127.0.0.1]:{port}/hook", f"http://[::ffff:7f00:1]:{port}/",
        f"http://[0:0:0:0:0:ffff:7f00:1]:{port}/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/",
        "http://[fe80::1%25eth0]/", "http://[::]/", "http://[fd00::1]/",
        f"http://localhost:{port}/hook", f"http://LocalHost.:{port}/hook", "http://api.localhost/",
        "http://postgres:5432/", "http://metadata/computeMetadata/v1/",
    ]


async def test_every_form_of_an_internal_address_is_refused_at_registration(
    world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    app = create_app(Settings(run_scheduler=False), session_maker=session_maker)  # the default: not allowed
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as strict:
        for url in [*_internal_forms(_port(receiver)), "http://1.2.3.4.5/", "http://256.1.1.1/", "http://0x/"]:
            response = await strict.post("/api/v1/webhooks", json={"url": url, "events": ["offer.created"]},
                                         headers=world.auth("officer"))
            assert response.status_code == 422, (url, response.status_code)
            assert response.json()["errors"][0]["field"] == "url", url

        # Public receivers are stored in one canonical form, the form delivery uses.
        for given, stored in [
            ("HTTPS://Hooks.Example.ORG:8443/x?y=1", "https://hooks.example.org:8443/x?y=1"),
            ("http://134744072/hook", "http://8.8.8.8/hook"),
            ("http://0x8.0x8.0x8.0x8", "http://8.8.8.8/"),
            ("https://[2001:4860:4860:0:0:0:0:8888]/h", "https://[2001:4860:4860::8888]/h"),
            ("https://bücher.example/h", "https://xn--bcher-kva.example/h"),
        ]:
            response = await strict.post("/api/v1/webhooks", json={"url": given, "events": ["offer.created"]},
                                         headers=world.auth("officer"))
            assert response.status_code == 201, (given, response.text)
            assert response.json()["url"] == stored
    assert receiver.deliveries == []


async def _stored_webhook(session: AsyncSession, url: str, path: str, receiver: Receiver) -> Webhook:
    """A webhook row written directly: as one registered before the registration checks existed."""
    webhook = Webhook(url=url, secret="whsec_" + path, events=["offer.created"], authority_code=KIRKLEES, active=True)
    session.add(webhook)
    await session.flush()
    receiver.secrets[path] = webhook.secret
    return webhook


async def test_delivery_refuses_internal_addresses_whatever_the_stored_url(
    world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    port = _port(receiver)
    async with session_maker() as session, session.begin():
        urls = [u for u in _internal_forms(port) if str(port) in u]
        for url in urls:
            await _stored_webhook(session, url, "/hook", receiver)
        assert await notifications.enqueue(session, "offer.created", {"offer_id": 1}, authority=KIRKLEES) == len(urls)

    report = await notifications.deliver_due(session_maker)  # the default: internal receivers refused
    assert report.retrying == len(urls) and report.delivered == 0
    async with session_maker() as session:
        errors = set(await session.scalars(select(OutboxMessage.last_error)))
    assert errors == {"refused: the receiver's address is inside the service's network"}
    assert receiver.deliveries == []  # nothing reached the listener on 127.0.0.1


async def test_a_name_resolving_inside_the_network_is_refused_and_allowed_only_when_configured(
    world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    async with session_maker() as session, session.begin():
        await _stored_webhook(session, f"http://localhost:{_port(receiver)}/name", "/name", receiver)
        await notifications.enqueue(session, "offer.created", {"offer_id": 2}, authority=KIRKLEES)

    refused = await notifications.deliver_due(session_maker)
    assert refused.retrying == 1 and receiver.deliveries == []

    # The same message, due again, with internal receivers allowed: the real connect path reaches it.
    async with session_maker() as session, session.begin():
        await session.execute(text("UPDATE outbox_message SET next_attempt_at = now() - interval '1 second'"))
    allowed = await notifications.deliver_due(session_maker, allow_internal=True)
    assert allowed.delivered == 1
    [delivery] = receiver.deliveries
    assert delivery.valid and delivery.path == "/name"


async def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(
    world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a public-looking name whose resolver answers 127.0.0.1 (the resolver is replaced,
    the socket connect is real). Refused by default; when allowed, the socket goes to the address
    that was checked and the Host header still names the host."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    async def resolver(host: str, port: int, **kwargs: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", resolver)
    host = f"hooks.example.org:{_port(receiver)}"
    async with session_maker() as session, session.begin():
        await _stored_webhook(session, f"http://{host}/rebound", "/rebound", receiver)
        await notifications.enqueue(session, "offer.created", {"offer_id": 3}, authority=KIRKLEES)

    assert (await notifications.deliver_due(session_maker)).retrying == 1
    assert asked == ["hooks.example.org"] and receiver.deliveries == []

    async with session_maker() as session, session.begin():
        await session.execute(text("UPDATE outbox_message SET next_attempt_at = now() - interval '1 second'"))
    assert (await notifications.deliver_due(session_maker, allow_internal=True)).delivered == 1
    [delivery] = receiver.deliveries
    assert delivery.headers["host"] == host and delivery.valid


# --- a slow receiver ---------------------------------------------------------------------------


@contextlib.contextmanager
def tcp_server(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A real server on 127.0.0.1 that runs `handle(connection, stop)` in a thread per connection; its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.fixture
def trickler() -> Iterator[tuple[str, threading.Event]]:
    """A real HTTP server that answers 200 with a 1,000-byte body sent one byte a second, forever."""
    started = threading.Event()

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.recv(65536)
            started.set()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n")
            while not stop.wait(1.0):
                try:
                    conn.sendall(b".")
                except OSError:
                    return

    with tcp_server(serve) as port:
        yield f"http://127.0.0.1:{port}/slow", started


async def test_a_slow_receiver_holds_no_transaction_and_stalls_no_other_delivery(
    engine: AsyncEngine, receiver: Receiver, trickler: tuple[str, threading.Event]
) -> None:
    slow_url, slow_started = trickler
    maker = db.session_maker(engine)
    settings = Settings(run_scheduler=True, webhooks_internal=True, webhook_deadline_seconds=3)
    deliver = next(job for job in all_jobs(settings) if job.name == "notifications.deliver")
    async with maker.begin() as session:
        slow = Webhook(url=slow_url, secret="whsec_slow", events=["offer.expired"], authority_code=KIRKLEES)
        fast = await _stored_webhook(session, receiver.url + "/fast", "/fast", receiver)
        fast.events = ["offer.created"]
        session.add(slow)
        await session.flush()
        session.add(OutboxMessage(webhook_id=slow.id, event="offer.expired", payload={"offer_id": 1}))
    try:
        # The scheduled job, as a process runs it, starts on the slow receiver ...
        first = asyncio.create_task(run_job(maker, deliver, settings))
        assert await asyncio.to_thread(slow_started.wait, 10)

        # ... and while it waits there, no connection sits idle in a transaction ...
        async with maker() as session:
            idle = await session.scalar(
                select(func.count()).select_from(text("pg_stat_activity"))
                .where(text("state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
            )
        assert idle == 0
        # ... and a change committed now is delivered by the next run (another tick or process).
        async with maker.begin() as session:
            await notifications.enqueue(session, "offer.created", {"offer_id": 2}, authority=KIRKLEES)
        assert await run_job(maker, deliver, settings) is True
        assert [d.document["data"] for d in receiver.deliveries] == [{"offer_id": 2}]
        assert not first.done()

        # The slow try ends at the deadline (it never stopped sending, so no read timed out).
        assert await first is True
        async with maker() as session:
            message = await session.scalar(select(OutboxMessage).where(OutboxMessage.webhook_id == slow.id))
        assert message is not None and message.status is MessageStatus.PENDING
        assert message.attempts == 1 and message.last_error == "no answer within 3 s"
    finally:
        async with maker.begin() as session:
            await session.execute(delete(Webhook).where(Webhook.id.in_([slow.id, fast.id])))
            await session.execute(delete(JobRun).where(JobRun.name == deliver.name))


def read_request(conn: socket.socket) -> bytes:
    """One whole HTTP request: the head, then as many body bytes as Content-Length names.

    A single recv may return the head alone (the client writes head and body apart); answering
    then would close the socket under the client's body write, and the delivery would fail.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def tls_receiver() -> Iterator[tuple[int, ssl.SSLContext, list[str | None], list[bytes]]]:
    """A real HTTPS server on 127.0.0.1 whose certificate names hooks.example.org (and nothing else).

    Yields its port, a client context that trusts that certificate, the server names (SNI)
    clients asked for, and the requests it received.
    """
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("hooks.example.org").configure_cert(server_context)
    asked: list[str | None] = []
    server_context.sni_callback = lambda sock, name, context: asked.append(name)  # type: ignore[assignment,func-returns-value]
    requests: list[bytes] = []

    def answer(raw: socket.socket, stop: threading.Event) -> None:
        try:
            with server_context.wrap_socket(raw, server_side=True) as conn:
                requests.append(read_request(conn))
                conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (ssl.SSLError, OSError):
            raw.close()

    with tcp_server(answer) as port:
        trusted = ssl.create_default_context()
        authority.configure_trust(trusted)
        yield port, trusted, asked, requests


async def test_tls_is_verified_against_the_host_name_while_the_socket_goes_to_the_checked_address(
    world: World, session_maker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch,
    tls_receiver: tuple[int, ssl.SSLContext, list[str | None], list[bytes]],
) -> None:
    port, trusted, asked, requests = tls_receiver

    async def resolver(host: str, port: int, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolver)
    async with session_maker() as session, session.begin():
        right = Webhook(url=f"https://hooks.example.org:{port}/tls", secret="whsec_tls", events=["offer.created"],
                        authority_code=KIRKLEES)
        wrong = Webhook(url=f"https://other.example.org:{port}/tls", secret="whsec_tls", events=["offer.created"],
                        authority_code=KIRKLEES)
        session.add_all([right, wrong])
        await session.flush()
        await notifications.enqueue(session, "offer.created", {"offer_id": 4}, authority=KIRKLEES)

    transport = egress.PinnedTransport(allow_internal=True, ssl_context=trusted)
    report = await notifications.deliver_due(session_maker, transport=transport, allow_internal=True)
    async with session_maker() as session:
        errors = dict((await session.execute(
            select(OutboxMessage.webhook_id, OutboxMessage.last_error)
        )).all())
    assert (report.delivered, report.retrying) == (1, 1), errors
    # The receiver named in the URL was asked for by name (SNI) and its certificate verified; the
    # other name reached the same socket but its certificate does not match, so nothing was sent.
    assert "hooks.example.org" in asked and "other.example.org" in asked
    [request] = requests
    assert f"host: hooks.example.org:{port}".encode() in request.lower()
    assert errors[right.id] is None and errors[wrong.id] == "ConnectError"


async def test_a_receiver_is_reached_on_its_next_address_when_the_first_does_not_answer(
    world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A name with two addresses, the first of which refuses (a dual-stack host whose IPv6 does not
    # answer, say): the delivery goes to the second, both having been checked.
    port = _port(receiver)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", port), timeout=5).close()  # nothing listens there
    real = socket.getaddrinfo

    def two_addresses(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "receiver.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("127.0.0.2", "127.0.0.1")]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    async with session_maker() as session, session.begin():
        await _stored_webhook(session, f"http://receiver.test:{port}/two", "/two", receiver)
        await notifications.enqueue(session, "offer.created", {"offer_id": 3}, authority=KIRKLEES)
    report = await notifications.deliver_due(session_maker, allow_internal=True)
    assert report.delivered == 1, report
    [delivery] = receiver.deliveries
    assert delivery.valid and delivery.path == "/two"
