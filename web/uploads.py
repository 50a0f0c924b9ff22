"""Serving uploaded files (evidence photos, imported sheets) so that none can run in the browser.

The content type comes from an allow-list by the file's own bytes, never from its name or from what
the uploader claimed: an HTML, SVG or script file is sent as `application/octet-stream`, as an
attachment, under a sandboxing policy. Every route that sends back an uploaded file uses
`send_upload`.
"""
from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

#: Types shown inline, recognised by their first bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_WEBP = (b"RIFF", b"WEBP")
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
SANDBOX = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def sniff(head: bytes) -> str:
    """The safe content type for a file starting with `head`; anything unrecognised is octet-stream."""
    for signature, mimetype in _SIGNATURES:
        if head.startswith(signature):
            return mimetype
    if head[:4] == _WEBP[0] and head[8:12] == _WEBP[1]:
        return "image/webp"
    return "application/octet-stream"


def send_upload(path: Path, download_name: str) -> Response:
    """Send a stored upload: pictures inline, everything else as a download; never HTML or script."""
    with open(path, "rb") as fh:
        mimetype = sniff(fh.read(16))
    response = send_file(path, mimetype=mimetype, as_attachment=mimetype not in INLINE_TYPES,
                         download_name=download_name, conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX
    response.headers["Cache-Control"] = "private, no-store"
    return response
