"""Admin: zones drawn and edited on a map (DESIGN 16) over the grids, with Leaflet and Leaflet.draw served by the
application. The tiles' datum is a setting: the page gets every layer in that datum and what is drawn is turned
back into WGS-84 before it is checked and stored. A saved zone is a draft until published."""
from __future__ import annotations

from typing import Any, Callable

from flask import abort, current_app, jsonify, request
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.base import READERS, Guarded, may_edit, require_editor
from engine.core.models import Campaign, Grid, Zone
from engine.space.datum import geometry_from_wgs84
from engine.space.zones import (KIND_NAMES, SCHOOL_BUFFER_METRES, delete_zone, feature, feature_collection,
                                save_zone, set_active)
from rules.problems import InputError
from web.common.extensions import db
from web.common.i18n import short_lang

#: More layers for the map, each (name, features in the tiles' datum) from (session, datum, lang): the permits
#: register adds its own here, so grids, zones and permits share one map.
EXTRA_LAYERS: list[Callable[[Session, str, str], tuple[str, dict[str, Any]]]] = []


class ZoneForm(FlaskForm):
    """Only carries the CSRF token the page's JSON requests send back as X-CSRFToken."""


def messages() -> dict[str, str]:
    """The page script's words in the user's language."""
    return {"grids": _("Grids"), "zones": _("Zones"), "saving": _("Saving…"), "saved": _("Saved."),
            "failed": _("The server did not answer; nothing was saved."),
            "not_saved": _("Nothing was saved: correct the fields marked."),
            "drawn": _("Drawn on the map"), "nothing_drawn": _("Nothing drawn yet: use the drawing tools on the map."),
            "draft": _("Draft"), "published": _("In force"), "confirm_delete": _("Delete this zone?")}


def _grids(session: Session, datum: str, lang: str) -> dict[str, Any]:
    rows = session.scalars(select(Grid).where(Grid.boundary.is_not(None)).order_by(Grid.code))
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geometry_from_wgs84(g.boundary, datum),
         "properties": {"code": g.code, "name": g.name_zh if lang == "zh" else g.name_en}} for g in rows]}


class ZoneMapView(Guarded, BaseView):
    """The map with the zones and their list; editors draw, save, publish, withdraw and delete."""

    roles = READERS

    def _datum(self) -> str:
        return current_app.extensions["civicrules.settings"].web.map_tiles_crs

    def _zone(self, zone_id: int) -> Zone:
        zone = db.session.get(Zone, zone_id)
        if zone is None:
            abort(404)
        return zone

    @expose("/")
    def index(self):
        web = current_app.extensions["civicrules.settings"].web
        lang, datum = short_lang(), self._datum()
        zones = list(db.session.scalars(select(Zone).order_by(Zone.kind, Zone.name)))
        campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.code)))
        extra = [layer(db.session, datum, lang) for layer in EXTRA_LAYERS]
        return self.render("admin/zones/index.html", zones=zones, campaigns=campaigns, lang=lang,
                           kinds={k: (zh if lang == "zh" else en) for k, (zh, en) in KIND_NAMES.items()},
                           layers={"zones": feature_collection(db.session, datum, lang),
                                   "grids": _grids(db.session, datum, lang),
                                   "extra": [{"name": name, "features": fc} for name, fc in extra]},
                           tiles=web.map_tiles, attribution=web.map_attribution, datum=datum,
                           school_buffer=SCHOOL_BUFFER_METRES, messages=messages(), editable=may_edit(),
                           form=ZoneForm())

    @expose("/save", methods=("POST",))
    def save(self):
        """Create or change a zone from the page's JSON (geometry in the tiles' datum); 422 names each field."""
        require_editor()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400)
        zone = self._zone(int(body["id"])) if str(body.get("id") or "").isdecimal() else None
        try:
            zone = save_zone(db.session, body, zone, self._datum())
        except InputError as err:
            db.session.rollback()
            return jsonify({"ok": False, "problems": [p.as_dict(short_lang()) for p in err.problems]}), 422
        db.session.commit()
        return jsonify({"ok": True, "zone": feature(zone, self._datum(), short_lang())})

    @expose("/<int(max=2147483647):zone_id>/publish", methods=("POST",))
    def publish(self, zone_id: int):
        """Make a zone count: the next evaluation batch sees it as `in_zone`."""
        require_editor()
        set_active(db.session, self._zone(zone_id), True)
        db.session.commit()
        return jsonify({"ok": True})

    @expose("/<int(max=2147483647):zone_id>/withdraw", methods=("POST",))
    def withdraw(self, zone_id: int):
        require_editor()
        set_active(db.session, self._zone(zone_id), False)
        db.session.commit()
        return jsonify({"ok": True})

    @expose("/<int(max=2147483647):zone_id>/delete", methods=("POST",))
    def delete(self, zone_id: int):
        require_editor()
        delete_zone(db.session, self._zone(zone_id))
        db.session.commit()
        return jsonify({"ok": True})
