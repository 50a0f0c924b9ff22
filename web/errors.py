"""The error pages a browser reader sees (403, 404, 500 and the other refusals): in the site's layout and the
reader's language, with a way home, instead of Werkzeug's English text on a page without navigation."""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

#: Title and message of the errors a reader meets most, by status code.
ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The page could not read what was sent, or the form had expired. Reload the page and try again.")),
    403: (_l("Not allowed"), _l("Your role may not open this page. Ask an administrator if you need it.")),
    404: (_l("Page not found"), _l("There is no page at this address, or the record is gone.")),
    405: (_l("Not allowed"), _l("This page cannot be opened that way.")),
    413: (_l("Too large"), _l("What was sent is larger than the page accepts.")),
    500: (_l("Something went wrong"), _l("The request could not be finished. Try again shortly; the error is logged.")),
}
OTHER_ERROR = (_l("The request could not be finished"), _l("Go back and try again, or start from the home page."))


def error_page(code: int, detail: str = "") -> tuple[str, int]:
    """The page for a status code; `detail` is a page's own translated reason (a missing campaign, a bad week)."""
    title, message = ERROR_TEXTS.get(code, OTHER_ERROR)
    return render_template("error.html", code=code, title=title, message=message, detail=detail), code


def page_for(err: HTTPException):
    """A refusal as a page; redirects and ready-made responses pass as they are. Werkzeug's stock English
    description (and Flask-WTF's) is left out, a page's own (given to abort) is shown under the message."""
    if err.code is None or err.code < 400 or err.response is not None:
        return err
    stock = err.description == type(err).description or isinstance(err, CSRFError)  # Flask-WTF's is English
    detail = "" if stock else err.description
    try:
        return error_page(err.code, str(detail or ""))
    except Exception:  # the layout itself failed (the database is gone): the plain refusal still answers
        current_app.logger.exception("error page failed")
        return err


def internal_page() -> tuple[str, int]:
    """The 500 page, or plain bilingual text when the layout cannot render (it asks the database for the nav)."""
    try:
        return error_page(500)
    except Exception:
        current_app.logger.exception("error page failed")
        return "Internal error / 内部错误", 500
