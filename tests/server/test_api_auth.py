"""The bearer token: which paths need it, constant-time comparison, never in the logs."""

from __future__ import annotations

import logging

import pytest

from dalle_frame_server.api import middleware
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import make_wav


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no header"),
        pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong token"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="token with a suffix"),
        pytest.param({"Authorization": f"Bearer {TOKEN[:-1]}"}, id="token prefix"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="basic scheme"),
        pytest.param({"Authorization": "Bearer"}, id="bearer without token"),
        pytest.param({"Authorization": "Bearer t\u00f6ken"}, id="non-ascii token"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/generate", "/v1/transcribe"])
async def test_protected_paths_refuse_without_the_token(
    client, caplog: pytest.LogCaptureFixture, headers: dict[str, str], path: str
) -> None:
    """401 with a JSON error and WWW-Authenticate; nothing is read or queued; no token logged."""
    caplog.set_level(logging.DEBUG)
    response = await client.post(path, data=b'{"prompt": "a cat"}', headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["error"]["code"] == "unauthorized"
    assert TOKEN not in caplog.text
    assert TOKEN not in await response.text()


async def test_the_token_is_compared_in_constant_time(
    client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The middleware compares with hmac.compare_digest."""
    calls: list[tuple[bytes, bytes]] = []
    real_compare = middleware.hmac.compare_digest

    def spy(given: bytes, expected: bytes) -> bool:
        calls.append((given, expected))
        return real_compare(given, expected)

    monkeypatch.setattr(middleware.hmac, "compare_digest", spy)
    response = await client.post("/v1/generate", json={"prompt": ""}, headers=AUTH)
    assert response.status == 400  # past the token, refused for the empty prompt
    assert calls == [(TOKEN.encode(), TOKEN.encode())]


async def test_health_and_openapi_need_no_token(client) -> None:
    """Health and the OpenAPI document are open; they reveal no token."""
    for path in ("/v1/health", "/v1/openapi.json"):
        response = await client.get(path)
        assert response.status == 200
        assert TOKEN not in await response.text()


async def test_right_token_reaches_the_handlers(client) -> None:
    """With the token, requests reach validation (HA's token check relies on this order)."""
    response = await client.post("/v1/generate", json={"prompt": ""}, headers=AUTH)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_prompt"
    response = await client.post(
        "/v1/transcribe", data=make_wav(), headers={"Content-Type": "audio/wav", **AUTH}
    )
    assert response.status == 200
    lower_case = {"authorization": f"bearer {TOKEN}", "Content-Type": "audio/wav"}
    assert (await client.post("/v1/transcribe", data=make_wav(), headers=lower_case)).status == 200


async def test_server_without_token_serves_anyone(make_client) -> None:
    """No token configured: no header needed; the OpenAPI document lists no security."""
    client = await make_client(token=None)
    response = await client.post("/v1/generate", json={"prompt": " "})
    assert response.status == 400
    document = await (await client.get("/v1/openapi.json")).json()
    assert document["paths"]["/v1/generate"]["post"]["security"] == []
