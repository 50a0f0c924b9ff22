"""The words third-party widgets show: Leaflet's zoom and layer controls, Leaflet.draw's tools, and the admin's date
picker, select boxes and menu button. The libraries ship them in English only, so every page hands its widgets the
reader's language (web/static/map-words.js and admin-widgets.js put them in place before a widget is made)."""
from __future__ import annotations

from typing import Any

from babel.dates import get_day_names, get_month_names
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _

#: What a select box's counting messages put where the count goes (the script fills it in).
COUNT = "{count}"


def _draw_words() -> dict[str, Any]:
    """Leaflet.draw's L.drawLocal, key for key: the zone map's toolbars, their actions and their hints."""
    cancel = {"title": _("Cancel drawing"), "text": _("Cancel")}
    return {
        "draw": {
            "toolbar": {
                "actions": cancel,
                "finish": {"title": _("Finish drawing"), "text": _("Finish")},
                "undo": {"title": _("Delete the last point drawn"), "text": _("Delete the last point")},
                "buttons": {"polyline": _("Draw a line (a street)"), "polygon": _("Draw a polygon"),
                            "rectangle": _("Draw a rectangle"), "circle": _("Draw a circle"),
                            "marker": _("Place a marker (a school)"), "circlemarker": _("Place a circle marker")},
            },
            "handlers": {
                "circle": {"tooltip": {"start": _("Click and drag to draw a circle.")}, "radius": _("Radius")},
                "circlemarker": {"tooltip": {"start": _("Click the map to place a circle marker.")}},
                "marker": {"tooltip": {"start": _("Click the map to place the marker.")}},
                "polygon": {"tooltip": {"start": _("Click to start drawing the shape."),
                                        "cont": _("Click to continue drawing the shape."),
                                        "end": _("Click the first point to close the shape.")}},
                "polyline": {"error": _("Error: the shape's edges must not cross."),
                             "tooltip": {"start": _("Click to start drawing the line."),
                                         "cont": _("Click to continue drawing the line."),
                                         "end": _("Click the last point to finish the line.")}},
                "rectangle": {"tooltip": {"start": _("Click and drag to draw a rectangle.")}},
                "simpleshape": {"tooltip": {"end": _("Release the mouse to finish drawing.")}},
            },
        },
        "edit": {
            "toolbar": {
                "actions": {"save": {"title": _("Keep the changes"), "text": _("Done")},
                            "cancel": {"title": _("Cancel editing and discard the changes"), "text": _("Cancel")},
                            "clearAll": {"title": _("Remove every shape"), "text": _("Remove all")}},
                "buttons": {"edit": _("Edit shapes"), "editDisabled": _("No shapes to edit"),
                            "remove": _("Delete shapes"), "removeDisabled": _("No shapes to delete")},
            },
            "handlers": {
                "edit": {"tooltip": {"text": _("Drag the handles or markers to change the shapes."),
                                     "subtext": _("Cancel undoes the changes.")}},
                "remove": {"tooltip": {"text": _("Click a shape to remove it.")}},
            },
        },
    }


def map_words(draw: bool = False) -> dict[str, Any]:
    """Leaflet's control titles in the reader's language, and with `draw` Leaflet.draw's words too."""
    words: dict[str, Any] = {"zoom_in": _("Zoom in"), "zoom_out": _("Zoom out"), "layers": _("Layers"),
                             "leaflet": _("A JavaScript library for interactive maps")}
    if draw:
        words["draw"] = _draw_words()
    return words


def _date_picker() -> dict[str, Any]:
    """The date picker's locale option: its buttons, and day and month names from the locale's own calendar
    (Sunday first, as the picker counts; the week starts on the locale's first day)."""
    locale = get_locale()
    days = get_day_names("short", locale=locale)  # 0 is Monday
    return {"applyLabel": _("Apply"), "cancelLabel": _("Cancel"), "fromLabel": _("From"), "toLabel": _("To"),
            "weekLabel": _("Wk"), "customRangeLabel": _("Custom range"),
            "daysOfWeek": [days[(i + 6) % 7] for i in range(7)],
            "monthNames": [get_month_names("abbreviated", locale=locale)[m] for m in range(1, 13)],
            "firstDay": (locale.first_week_day + 1) % 7}


def admin_widget_words() -> dict[str, Any]:
    """Words for Flask-Admin's widgets: the date picker's locale and what stands between a range's two dates (至),
    the select boxes' messages (counts as COUNT), and the collapsed menu button's label for screen readers."""
    return {"date_picker": _date_picker(), "date_range_separator": f" {_('to (between two dates)')} ",
            "select": {"no_matches": _("No matches found"), "searching": _("Searching…"),
                       "load_more": _("Loading more results…"), "failed": _("Loading failed"),
                       "too_short": _("Please enter %(count)s more character(s).", count=COUNT),
                       "too_many": _("You can select at most %(count)s item(s).", count=COUNT),
                       "matches": _("%(count)s result(s): choose with the up and down arrow keys.", count=COUNT)},
            "toggle_navigation": _("Toggle navigation")}


def register(app: Flask) -> None:
    """`map_words(draw)` and `admin_widget_words()` for the templates that load those widgets."""
    app.jinja_env.globals.update(map_words=map_words, admin_widget_words=admin_widget_words)
