"""HTTP view serving history pictures to the media browser (authenticated or signed URLs)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from aiohttp import web
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN
from .history import FrameHistory, history_folder, is_item_id

HISTORY_URL: Final = "/api/dalle_frame/history/{entry_id}/{item_id}.png"


def history_picture_url(entry_id: str, item_id: str) -> str:
    """Return the view's path for one picture."""
    return HISTORY_URL.format(entry_id=entry_id, item_id=item_id)


class DalleFrameHistoryView(HomeAssistantView):
    """GET /api/dalle_frame/history/<entry_id>/<item_id>.png."""

    url = HISTORY_URL
    name = "api:dalle_frame:history"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, item_id: str) -> web.Response:
        """Return the picture's PNG, or 404 for an unknown frame or picture."""
        hass = request.app[KEY_HASS]
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or not is_item_id(item_id):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        history = FrameHistory(history_folder(hass.config.config_dir, entry_id))
        try:
            png = await hass.async_add_executor_job(history.read_png, item_id)
        except OSError:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.Response(
            body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
        )
