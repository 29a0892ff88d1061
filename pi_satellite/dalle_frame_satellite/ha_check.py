"""--check's last step: one login to Home Assistant with the configured URL and token."""

from __future__ import annotations

import aiohttp

from .errors import HomeAssistantAuthError, HomeAssistantError
from .ha_websocket import HaWebSocket
from .secret import Secret
from .settings import HomeAssistantSettings


async def check_home_assistant(settings: HomeAssistantSettings, token: Secret) -> str:
    """Log in once; return a line naming HA's version, or raise HomeAssistantError with why."""
    url = settings.url
    async with aiohttp.ClientSession() as session:
        try:
            connection = await HaWebSocket.connect(
                session,
                url,
                token,
                heartbeat=settings.heartbeat_seconds,
                time_limit=settings.request_timeout_seconds,
                verify_ssl=settings.verify_ssl,
            )
        except HomeAssistantAuthError as err:
            raise HomeAssistantError(
                f"{err}; put a valid long-lived access token in {settings.token_file}"
            ) from err
        except TimeoutError as err:
            raise HomeAssistantError(f"Home Assistant at {url} did not answer in time") from err
        except aiohttp.WSServerHandshakeError as err:
            raise HomeAssistantError(
                f"Home Assistant at {url} refused the WebSocket (HTTP {err.status})"
            ) from err
        except (aiohttp.ClientError, OSError) as err:
            raise HomeAssistantError(
                f"cannot reach Home Assistant at {url}: {err or type(err).__name__}; check "
                f"home_assistant.url and that Home Assistant is running"
            ) from err
        version = connection.ha_version
        await connection.close()
    return f"Home Assistant {version} at {url} accepted the token"
