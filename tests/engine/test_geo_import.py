"""Onboarding a city's geography (issue 16, point 6) with real files: Shapefiles written by pyshp (with a CGCS2000
Gauss-Kruger .prj, with none, with nonsense), GeoJSON in WGS-84 and GCJ-02, and holders' CSV registers. A bad
feature is named by its number and field in both languages, and then nothing at all is written."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pyproj
import pytest
import shapefile
from click.testing import CliRunner
from pyproj.enums import WktVersion
from sqlalchemy import func, select

from engine.core.models import Event, FrontageHolder, Grid, Zone
from engine.core.tables import MAX_FILE_BYTES
from engine.intake.events import IntakeSource, accept_event
from engine.space.datum import to_wgs84
from engine.space.geo_files import read_geojson, read_layer, read_shapefile_zip
from engine.space.geo_import import import_file, import_layer
from rules.problems import InputError
from tests.helpers import event

GK_111 = pyproj.CRS.from_epsg(4546)  # CGCS2000 / 3-degree Gauss-Kruger CM 111E: the demo city's zone
NORTHING_35_10 = 3885687.05  # 35.10°N on the central meridian, where easting is 500 000 m by definition
BOWTIE = [[[111.05, 35.05], [111.06, 35.06], [111.06, 35.05], [111.05, 35.06], [111.05, 35.05]]]
SQUARE = [[[111.05, 35.05], [111.05, 35.06], [111.06, 35.06], [111.06, 35.05], [111.05, 35.05]]]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def zipped_shapefile(tmp_path: Path, fields: list[tuple], items: list[tuple], prj: str | None = None,
                     shape_type: int = shapefile.POLYGON, extra: dict[str, bytes] | None = None,
                     encoding: str = "utf-8") -> bytes:
    """A real Shapefile written by pyshp and zipped as a user would upload it."""
    base = tmp_path / "layer"
    with shapefile.Writer(str(base), shapeType=shape_type, encoding=encoding) as writer:
        for spec in fields:
            writer.field(*spec)
        for geometry, record in items:
            if geometry is None:
                writer.null()
            elif shape_type == shapefile.POLYGON:
                writer.poly(geometry)
            elif shape_type == shapefile.POLYLINE:
                writer.line(geometry)
            else:
                writer.point(*geometry)
            writer.record(*record)
    if prj is not None:
        base.with_suffix(".prj").write_text(prj)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in tmp_path.glob("layer.*"):
            archive.write(part, f"城区网格/{part.name}")
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def folder(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


def gk_grid(tmp_path: Path, prj: str | None, code: str = "T-GK1") -> bytes:
    """One grid 200 m square on the central meridian at 35.10°N, in Gauss-Kruger metres (a clockwise ring)."""
    x0, x1, y0, y1 = 499_900, 500_100, NORTHING_35_10 - 100, NORTHING_35_10 + 100
    ring = [[(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]]
    fields = [("code", "C", 32), ("grid_code", "C", 15), ("name_zh", "C", 60), ("unit", "C", 32), ("OBJECTID", "N", 9)]
    return zipped_shapefile(tmp_path, fields, [(ring, (code, "140802001002003", "测试网格一", "JD-DC", 1))], prj)


def geojson(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def feature(properties: dict, geometry_type: str = "Polygon", coordinates=SQUARE) -> dict:
    return {"type": "Feature", "properties": properties,
            "geometry": {"type": geometry_type, "coordinates": coordinates}}


def test_a_cgcs2000_gauss_kruger_shapefile_is_read_through_its_prj_into_wgs84_grids(tmp_path, session):
    prj = GK_111.to_wkt(WktVersion.WKT1_ESRI)
    report = import_layer(session, "grids", read_shapefile_zip(gk_grid(tmp_path, prj)))
    assert report.problems == [] and report.created == 1
    grid = session.scalar(select(Grid).where(Grid.code == "T-GK1"))
    assert grid.grid_code == "140802001002003" and grid.name_zh == "测试网格一" and grid.unit.code == "JD-DC"
    lons = [lon for lon, _lat in grid.boundary["coordinates"][0]]
    lats = [lat for _lon, lat in grid.boundary["coordinates"][0]]
    assert abs((min(lons) + max(lons)) / 2 - 111.0) < 1e-6  # the central meridian: metres became degrees
    assert abs((min(lats) + max(lats)) / 2 - 35.10) < 1e-5
    assert 0.0021 < max(lons) - min(lons) < 0.0023  # 200 m at 35°N

    again = import_layer(session, "grids", read_shapefile_zip(gk_grid(folder(tmp_path, "again"), prj)))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_a_shapefile_with_an_unknown_projection_is_refused_and_nothing_is_written(tmp_path, session):
    before = count(session, Grid)
    with pytest.raises(InputError) as missing:
        read_shapefile_zip(gk_grid(tmp_path, None))
    (problem,) = missing.value.problems
    assert problem.where == "crs" and "no .prj, so its projection is unknown" in problem.en
    assert "缺少 .prj 文件，投影未知" in problem.zh

    with pytest.raises(InputError) as nonsense:
        read_shapefile_zip(gk_grid(folder(tmp_path, "nonsense"), 'PROJCS["my city grid",UNIT["metre"]]'))
    assert "the projection in the .prj is unknown" in nonsense.value.problems[0].en
    assert ".prj 中的投影无法识别" in nonsense.value.problems[0].zh
    assert count(session, Grid) == before

    declared = import_layer(session, "grids", read_shapefile_zip(gk_grid(folder(tmp_path, "declared"), None),
                                                                 crs="EPSG:4546"))
    assert declared.created == 1  # the user may say what the file is in


def test_an_upload_must_be_a_small_zip_holding_one_shapefile(tmp_path):
    readme = io.BytesIO()
    with zipfile.ZipFile(readme, "w") as archive:
        archive.writestr("说明.txt", "网格数据")
    cases = [(readme.getvalue(), "the zip holds no .shp file", "压缩包中没有 .shp 文件"),
             (b"PK" + b"0" * (MAX_FILE_BYTES + 1), "larger than 20 MB", "超过 20 MB"),
             (b"not a zip", "not a zip file", "不是 zip 压缩包")]
    for raw, en, zh in cases:
        with pytest.raises(InputError) as refused:
            read_shapefile_zip(raw)
        assert en in refused.value.problems[0].en and zh in refused.value.problems[0].zh


def test_a_self_intersecting_zone_and_a_zone_with_no_kind_are_refused_per_feature(session):
    before = count(session, Zone)
    layer = read_geojson(geojson(feature({"类型": "限制经营区", "名称": "测试限制区"}),
                                 feature({"kind": "residential", "name": "交叉的小区"}, coordinates=BOWTIE),
                                 feature({"名称": "无类型区域"})))
    report = import_layer(session, "zones", layer)
    assert [(p.row, p.where) for p in report.problems] == [(2, "geometry"), (3, "kind")]
    assert "the polygon crosses itself" in report.problems[0].en and "多边形边线自相交" in report.problems[0].zh
    assert "choose the kind of zone" in report.problems[1].en and "请选择区域类型" in report.problems[1].zh
    assert report.bad == [2, 3] and count(session, Zone) == before  # the good feature was not stored either

    good = import_layer(session, "zones", read_geojson(geojson(feature({"类型": "限制经营区", "名称": "测试限制区"}))))
    assert good.created == 1
    zone = session.scalar(select(Zone).where(Zone.name == "测试限制区"))
    assert zone.kind == "restricted_business" and zone.active is False  # a draft until published, as on the map
    published = import_layer(session, "zones", read_geojson(geojson(feature({"类型": "限制经营区", "名称": "测试限制区"}))),
                             publish=True)
    assert published.updated == 1 and zone.active is True


def test_a_gcj02_geojson_is_stored_in_wgs84(session):
    point = [111.0300, 35.0400]
    layer = read_geojson(geojson(feature({"kind": "school_surroundings", "name": "测试小学", "buffer": 150},
                                         "Point", point)), crs="gcj02")
    assert import_layer(session, "zones", layer).created == 1
    zone = session.scalar(select(Zone).where(Zone.name == "测试小学"))
    lat, lon = to_wgs84(point[1], point[0], "gcj02")
    assert zone.geometry["coordinates"] == pytest.approx([lon, lat]) and zone.buffer_metres == 150
    assert abs(lon - point[0]) > 0.001  # the shift is hundreds of metres: it was really converted


def test_a_gbk_shapefile_of_strict_streets_with_chinese_attribute_names(tmp_path, session):
    """Chinese GIS exports write the .dbf in GBK with no .cpg; its 类型, 名称 and 宽度 still map to the zone."""
    fields = [("类型", "C", 20), ("名称", "C", 60), ("宽度", "N", 8, 1)]
    line = [[(111.04, 35.07), (111.05, 35.07)]]
    raw = zipped_shapefile(tmp_path, fields, [(line, ("严管街", "测试严管街", 24.0))],
                           pyproj.CRS.from_epsg(4326).to_wkt(WktVersion.WKT1_ESRI), shapefile.POLYLINE, encoding="gbk")
    report = import_layer(session, "zones", read_shapefile_zip(raw))
    assert report.problems == [] and report.created == 1
    zone = session.scalar(select(Zone).where(Zone.name == "测试严管街"))
    assert zone.kind == "strict_street" and zone.width_metres == 24.0 and zone.geometry["type"] == "LineString"
    with_cpg = zipped_shapefile(folder(tmp_path, "cpg"), fields, [(line, ("严管街", "测试严管街", 24.0))],
                                pyproj.CRS.from_epsg(4326).to_wkt(WktVersion.WKT1_ESRI), shapefile.POLYLINE,
                                {"城区网格/layer.cpg": b"936"}, "gbk")  # ArcGIS names the code page
    assert import_layer(session, "zones", read_shapefile_zip(with_cpg)).unchanged == 1


def test_an_unknown_dbf_column_is_named_once_for_the_whole_shapefile(tmp_path, session):
    fields = [("kind", "C", 20), ("name", "C", 60), ("remark", "C", 60), ("Shape_Area", "N", 12, 2)]
    raw = zipped_shapefile(tmp_path, fields, [(SQUARE, ("residential", "小区乙", "备注", 1.0))],
                           pyproj.CRS.from_epsg(4490).to_wkt(WktVersion.WKT1_ESRI))
    report = import_layer(session, "zones", read_shapefile_zip(raw))
    (problem,) = report.problems  # Shape_Area is GIS housekeeping, read past
    assert (problem.row, problem.where) == (None, "remark") and "unknown column 'remark'" in problem.en
    assert report.created == 0 and report.bad == []


def test_an_unknown_property_is_named_on_its_feature(session):
    layer = read_geojson(geojson(feature({"kind": "residential", "name": "小区甲", "面积": 12})))
    report = import_layer(session, "zones", layer)
    (problem,) = report.problems
    assert (problem.row, problem.where) == (1, "面积") and "unknown property '面积'" in problem.en
    assert "未知的属性「面积」" in problem.zh


def test_grid_codes_are_15_digits_and_unique(session):
    session.scalar(select(Grid).where(Grid.code == "DC-01")).grid_code = "140802001001001"
    session.flush()
    layer = read_geojson(geojson(feature({"code": "T-A", "grid_code": "14080200100100", "name": "甲", "unit": "JD-DC"}),
                                 feature({"code": "T-B", "grid_code": "140802001001001", "name": "乙", "unit": "JD-DC"}),
                                 feature({"code": "T-C", "name": "丙"}, "LineString", SQUARE[0])))
    report = import_layer(session, "grids", layer)
    assert [(p.row, p.where) for p in report.problems] == [(1, "grid_code"), (2, "grid_code"), (3, "geometry"),
                                                           (3, "unit")]
    assert "15 digits" in report.problems[0].en and "15 位数字" in report.problems[0].zh
    assert "grid DC-01 already has the code 140802001001001" in report.problems[1].en
    assert "须为多边形" in report.problems[2].zh


def holders_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holders.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_an_import_row_with_unknown_columns_is_named_and_nothing_is_written(tmp_path, session):
    before = count(session, FrontageHolder)
    path = holders_csv(tmp_path, "编号,名称,地址,网格,电话号码\nT-H1,老李面馆,东城区解放路20号,DC-01,13800000009\n")
    report = import_file(session, "holders", path)
    (problem,) = report.problems
    assert (problem.row, problem.where) == (1, "电话号码") and report.numbered == "row"
    assert "unknown column '电话号码'" in problem.en and "未知的列「电话号码」" in problem.zh
    assert count(session, FrontageHolder) == before


def test_holder_rows_are_checked_per_row_then_stored_by_code(tmp_path, session):
    session.scalar(select(Grid).where(Grid.code == "DC-01")).grid_code = "140802001001001"
    session.flush()
    before = count(session, FrontageHolder)
    header = "编号,名称,地址,网格,联系方式,纬度,经度,责任书编号,签订日期,签订人,责任内容,有效期起,有效期止\n"
    good = ("T-H1,老李面馆,东城区解放路20号,140802001001001,李先生,,,ZRS-001,2026-09-01,李建民,市容、环境卫生、绿化,"
            "2026-09-01,2027-08-31\n"
            "T-H2,便民超市,东城区解放路30号,,,35.0253,111.0055,,,,,,\n")
    bad = "T-H3,水果店,东城区解放路40号,XX-99,,,,,2026-13-01,,市容、扫雪,,\n"
    report = import_file(session, "holders", holders_csv(tmp_path, header + good + bad))
    assert [(p.row, p.where) for p in report.problems] == [(4, "grid"), (4, "letter_duties"),
                                                           (4, "letter_signed_on")]
    assert "no grid with the code 'XX-99'" in report.problems[0].en and "扫雪" in report.problems[1].zh
    assert count(session, FrontageHolder) == before  # rows 2 and 3 were good, and still nothing was written

    stored = import_file(session, "holders", holders_csv(tmp_path, header + good))
    assert stored.created == 2
    first = session.scalar(select(FrontageHolder).where(FrontageHolder.code == "T-H1"))
    second = session.scalar(select(FrontageHolder).where(FrontageHolder.code == "T-H2"))
    assert first.grid.code == "DC-01" and first.letter_duties == ["appearance", "sanitation", "greenery"]
    assert str(first.letter_valid_until) == "2027-08-31" and first.letter_signed_on.isoformat() == "2026-09-01"
    assert second.grid.code == "DC-02"  # found by its point

    changed = good.replace("李先生", "李女士")
    again = import_file(session, "holders", holders_csv(tmp_path, header + changed))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1) and first.contact == "李女士"


def test_a_point_shapefile_of_holders_and_a_plain_shp_path(tmp_path, session):
    fields = [("code", "C", 32), ("name", "C", 60), ("address", "C", 100)]
    raw = zipped_shapefile(tmp_path, fields, [((111.0055, 35.0253), ("T-H9", "报刊亭", "东城区解放路50号"))],
                           pyproj.CRS.from_epsg(4490).to_wkt(WktVersion.WKT1_ESRI), shapefile.POINT)
    layer = read_layer(tmp_path / "layer.shp")  # the CLI reads the .shp beside its .dbf and .prj
    assert layer.features[0].geometry["coordinates"] == pytest.approx([111.0055, 35.0253])
    report = import_layer(session, "holders", read_shapefile_zip(raw))
    holder = session.scalar(select(FrontageHolder).where(FrontageHolder.code == "T-H9"))
    assert report.created == 1 and holder.grid.code == "DC-02" and holder.lat == pytest.approx(35.0253)


def test_the_cli_names_each_bad_feature_and_a_dry_run_stores_nothing(tmp_path, factory):
    from app.cli import main

    bad = tmp_path / "zones.geojson"
    bad.write_bytes(geojson(feature({"kind": "residential", "name": "交叉的小区"}, coordinates=BOWTIE)))
    refused = CliRunner().invoke(main, ["geo", "import", "zones", str(bad)])
    assert refused.exit_code == 1
    assert "feature 1: geometry: the polygon crosses itself" in refused.output and "自相交" in refused.output
    assert "nothing stored: 1 features refused" in refused.output

    good = tmp_path / "good.geojson"
    good.write_bytes(geojson(feature({"kind": "residential", "name": "CLI 试运行小区"})))
    tried = CliRunner().invoke(main, ["geo", "import", "zones", str(good), "--dry-run"])
    assert tried.exit_code == 0 and "1 created" in tried.output and "dry run: nothing stored" in tried.output
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Zone).where(Zone.name == "CLI 试运行小区")) == 0

    shp = folder(tmp_path, "shp")
    with zipfile.ZipFile(io.BytesIO(gk_grid(folder(tmp_path, "zip"), None))) as archive:
        archive.extractall(shp)
    unknown = CliRunner().invoke(main, ["geo", "import", "grids", str(shp / "城区网格" / "layer.shp")])
    assert unknown.exit_code == 1 and "projection is unknown" in unknown.output


def test_an_event_may_name_its_grid_by_the_15_digit_code(session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-03"))
    grid.grid_code = "140802001001003"
    session.flush()
    source = IntakeSource("geo-tests", "hotline")
    accepted, created = accept_event(session, event("06029", "140802001001003"), source)
    assert created and session.get(Event, accepted.id).grid_id == grid.id
    with pytest.raises(InputError) as unknown:
        accept_event(session, event("06029", "140802001009999"), source)
    assert "unknown grid '140802001009999'" in unknown.value.problems[0].en


def test_an_xlsx_register_in_the_template_s_columns_is_imported_and_grids_never_come_from_a_table(tmp_path, session):
    from openpyxl import Workbook

    from engine.space.holder_import import template_csv

    headers = template_csv().lstrip("\ufeff").strip().split(",")
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    row = {"编号": "T-X1", "名称": "五金店", "地址": "东城区解放路60号", "网格": "DC-02", "纬度": 35.0253,
           "经度": 111.0055, "签订日期": date(2026, 9, 1), "签订人": "赵五金", "责任内容": "市容,秩序",
           "责任范围（米）": 10}
    sheet.append([row.get(h) for h in headers])
    book.save(tmp_path / "门前三包.xlsx")
    report = import_file(session, "holders", tmp_path / "门前三包.xlsx", crs="gcj02")
    assert report.problems == [] and report.created == 1
    holder = session.scalar(select(FrontageHolder).where(FrontageHolder.code == "T-X1"))
    assert holder.letter_signed_on == date(2026, 9, 1) and holder.letter_duties == ["appearance", "order"]
    assert holder.reach_metres == 10 and (holder.lat, holder.lon) == pytest.approx(to_wgs84(35.0253, 111.0055, "gcj02"))

    with pytest.raises(InputError) as refused:
        import_file(session, "grids", tmp_path / "门前三包.xlsx")
    assert "grids come from GeoJSON or a zipped Shapefile" in refused.value.problems[0].en


def test_a_holder_row_with_half_a_letter_is_refused_as_the_admin_form_refuses_it(tmp_path, session):
    header = "编号,名称,地址,网格,责任书编号,签订日期,责任范围（米）\n"
    report = import_file(session, "holders", holders_csv(tmp_path, header + "T-H9,茶叶店,东城区解放路90号,DC-01,"
                                                                             "ZRS-009,,150\n"))
    assert {(p.row, p.where) for p in report.problems} == {
        (2, "reach_metres"), (2, "letter_signed_on"), (2, "letter_signer"), (2, "letter_duties")}
    assert session.scalar(select(FrontageHolder).where(FrontageHolder.code == "T-H9")) is None
