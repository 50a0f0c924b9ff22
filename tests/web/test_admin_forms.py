"""Every Float column an admin model view means to edit has an input: SQLAlchemy 2.1's Float is no longer a
Numeric, and Flask-Admin dropped such columns from forms without a word (FrontageHolder lat/lon went missing)."""
from __future__ import annotations

from flask_admin.contrib.sqla import ModelView
from sqlalchemy import Float, inspect



def _model_views(app) -> list[ModelView]:
    return [v for admin in app.extensions["admin"] for v in admin._views if isinstance(v, ModelView)]


def _float_columns_meant_for_the_form(view: ModelView) -> list[str]:
    """Float columns the view's form_columns name, or, without form_columns, every one not excluded."""
    mapper = inspect(view.model)
    floats = [c.key for c in mapper.column_attrs if isinstance(c.columns[0].type, Float)]
    if view.form_columns is not None:
        return [name for name in floats if name in view.form_columns]
    return [name for name in floats if name not in (view.form_excluded_columns or ())]


def test_every_float_column_of_every_model_view_has_a_number_input(app, client, login):
    assert login(client, "admin").status_code == 302
    views = _model_views(app)
    assert any(v.model.__name__ == "FrontageHolder" for v in views)
    checked = []
    for view in views:
        wanted = _float_columns_meant_for_the_form(view)
        if not wanted:
            continue
        for form_class in (view._create_form_class, view._edit_form_class):
            missing = [name for name in wanted if not hasattr(form_class, name)]
            assert not missing, f"{view.endpoint}: no form field for Float column(s) {missing}"
        if view.can_create:
            page = client.get(f"{view.url}/new/?lang=en")
            assert page.status_code == 200, view.endpoint
            html = page.get_data(as_text=True)
            for name in wanted:
                assert f'name="{name}"' in html, f"{view.endpoint}: the create form has no input for {name}"
        checked.append((view.endpoint, wanted))
    assert ("frontageholder", ["lat", "lon", "reach_metres"]) in checked


def test_a_float_column_without_an_override_is_a_number_box_taking_decimals(app, client, login):
    assert login(client, "admin").status_code == 302
    html = client.get("/admin/frontageholder/new/?lang=en").get_data(as_text=True)
    for name in ("lat", "lon"):
        at = html.index(f'name="{name}"')
        tag = html[html.rindex("<input", 0, at):html.index(">", at)]
        assert 'type="number"' in tag and 'step="any"' in tag, tag
