"""Reading request bodies within a size limit, before anything else is done with them."""

from __future__ import annotations

from aiohttp import web

from ..errors import PayloadTooLargeError


async def read_body(request: web.Request, limit: int) -> bytes:
    """Return the body; PayloadTooLargeError (413) when it is over `limit` bytes.

    A Content-Length over the limit is refused before a byte of the body is read, so a client
    announcing gigabytes costs nothing.
    """
    announced = request.content_length
    if announced is not None and announced > limit:
        raise PayloadTooLargeError(
            f"the body is {announced} bytes; this endpoint accepts at most {limit} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(min(limit + 1 - size, 1 << 20)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over this endpoint's limit of {limit} bytes")
    return b"".join(chunks)
