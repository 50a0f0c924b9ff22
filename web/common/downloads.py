"""How a download is named and typed. A header holds Latin-1 only, so a Chinese file name goes in RFC 5987's
`filename*` with an ASCII `filename` beside it, as Werkzeug's send_file writes it for uploads."""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from werkzeug.http import dump_options_header

#: A CSV's Content-Type, charset once: Werkzeug adds a charset to a bare `text/csv` mimetype, even to one that has it.
CSV = "text/csv; charset=utf-8"


def attachment(name: str, fallback: str | None = None) -> str:
    """Content-Disposition for `name`, quoted where needed; a non-ASCII name is also offered as `fallback`
    (else its ASCII letters) to a client that cannot read `filename*`."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = fallback or unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return dump_options_header("attachment", {"filename": simple,
                                                  "filename*": "UTF-8''" + quote(name, safe="!#$&+^`|~")})
    return dump_options_header("attachment", {"filename": name})
