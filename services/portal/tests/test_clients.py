import httpx
import pytest

from portal.clients import Backends, Caller, ServiceUnavailable


class ClosingOnce(httpx.AsyncBaseTransport):
    """A server that closed the kept-alive connection as the first request went out."""

    def __init__(self) -> None:
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response")
        return httpx.Response(200, json={"ok": True, "key": request.headers.get("idempotency-key")})


def backends(transport) -> Backends:
    client = httpx.AsyncClient(transport=transport)
    url = "http://service"
    return Backends(client, invoicing=url, payments=url, ledger=url, reminders=url)


async def test_a_read_on_a_connection_the_server_closed_is_sent_again():
    transport = ClosingOnce()
    answer = await backends(transport).get(Caller("t"), "ledger", "/v1/x")
    assert answer.ok and transport.calls == 2


async def test_a_keyed_write_is_sent_again_with_the_same_key():
    transport = ClosingOnce()
    answer = await backends(transport).post(Caller("t"), "payments", "/v1/p", {}, key="k-1")
    assert answer.body["key"] == "k-1" and transport.calls == 2


async def test_a_service_that_keeps_failing_is_unavailable():
    class Down(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            raise httpx.ConnectError("refused")

    with pytest.raises(ServiceUnavailable):
        await backends(Down()).get(Caller("t"), "ledger", "/v1/x")
