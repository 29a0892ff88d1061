"""The HTTP API (v1): aiohttp application, handlers, middlewares, queue and OpenAPI document."""
