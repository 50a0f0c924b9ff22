"""Reading a city's geography as it is handed over: GeoJSON, a zipped Shapefile (pyshp) with its .prj, or a CSV/XLSX
table. Every feature comes out numbered and in WGS-84 (lon, lat), so that each problem can name the feature it is in.

A Shapefile's coordinates mean nothing without their projection: with no .prj, or one pyproj cannot read, the file is
refused as a whole unless the user declares the coordinate system (e.g. EPSG:4549, CGCS2000 3-degree zone 40).
GeoJSON is WGS-84 unless declared otherwise; the China datums (gcj02, bd09) are converted as intake converts them.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyproj
import shapefile
from pyproj.exceptions import CRSError, ProjError

from engine.core.models import DATUMS
from engine.core.tables import MAX_FILE_BYTES, read_table
from engine.space.datum import to_wgs84
from rules.problems import InputError, Problem

MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_FEATURES = 100_000
TABLE_SUFFIXES = (".csv", ".xlsx")
GEOJSON_SUFFIXES = (".geojson", ".json")

#: (x, y) as the file gives them -> (lon, lat) in WGS-84.
Conversion = Callable[[float, float], tuple[float, float]]


@dataclass
class Feature:
    """One feature or table row: its number as the user counts it (feature 1…, or the file's line), its attributes,
    its geometry in WGS-84 (None for a table row or a null shape), and what was wrong reading it."""

    number: int
    properties: dict[str, Any]
    geometry: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Layer:
    """What a file held. `fields` are the columns shared by every feature (a table's headers, a .dbf's fields),
    None for GeoJSON, whose properties differ per feature. `datum` is the declared datum of a table's lat/lon."""

    features: list[Feature]
    numbered: str  # "feature" or "row": what a problem's number counts
    fields: list[str] | None = None
    datum: str = "wgs84"


def _refuse(where: str, en: str, zh: str) -> InputError:
    return InputError([Problem(where, en, zh)])


def _projection(source: pyproj.CRS) -> Conversion:
    try:
        transformer = pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    except (CRSError, ProjError) as err:
        raise _refuse("crs", f"{source.name} cannot be converted to WGS-84 ({err})",
                      f"{source.name} 无法转换为 WGS-84（{err}）") from err
    return lambda x, y: transformer.transform(x, y)


def _datum(datum: str) -> Conversion:
    def convert(x: float, y: float) -> tuple[float, float]:
        lat, lon = to_wgs84(y, x, datum)
        return lon, lat
    return convert


def declared(crs: str | None) -> Conversion | None:
    """The conversion for a coordinate system the user declares: wgs84, gcj02, bd09, or any code pyproj knows
    (EPSG:4549, EPSG:4490); None when nothing is declared."""
    text = (crs or "").strip()
    if not text:
        return None
    if text.lower() in DATUMS:
        return _datum(text.lower())
    try:
        return _projection(pyproj.CRS.from_user_input(text))
    except CRSError as err:
        raise _refuse("crs", f"unknown coordinate system {text!r}: give wgs84, gcj02, bd09 or a code such as "
                      "EPSG:4549", f"未知的坐标系「{text}」：请填写 wgs84、gcj02、bd09 或 EPSG:4549 这样的编号") from err


def _coordinates(coordinates: Any, convert: Conversion) -> Any:
    if not isinstance(coordinates, (list, tuple)):
        raise TypeError(coordinates)
    if coordinates and isinstance(coordinates[0], (int, float)):
        if len(coordinates) < 2 or not isinstance(coordinates[1], (int, float)):
            raise TypeError(coordinates)
        lon, lat = convert(float(coordinates[0]), float(coordinates[1]))
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError((coordinates[0], coordinates[1]))
        return [lon, lat]
    return [_coordinates(c, convert) for c in coordinates]


def _converted(number: int, geometry: Any, convert: Conversion, crs_name: str) -> Feature:
    feature = Feature(number, {})
    if geometry is None:
        return feature
    try:
        kind = geometry["type"]
        if kind not in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"):
            raise TypeError(kind)
        feature.geometry = {"type": kind, "coordinates": _coordinates(geometry["coordinates"], convert)}
    except ValueError as err:
        x, y = err.args[0] if err.args and isinstance(err.args[0], tuple) else ("?", "?")
        feature.problems.append(Problem("geometry", f"the point ({x}, {y}) lies outside the world in {crs_name}: "
                                        "is that the file's coordinate system?",
                                        f"坐标 ({x}, {y}) 按 {crs_name} 换算后不在地球范围内：文件的坐标系是否正确？",
                                        number))
    except (TypeError, KeyError, IndexError):
        feature.problems.append(Problem("geometry", "not a GeoJSON point, line or polygon",
                                        "不是 GeoJSON 点、线或多边形", number))
    return feature


def read_geojson(raw: bytes, crs: str | None = None) -> Layer:
    """A FeatureCollection (or one Feature) in WGS-84, or in the declared datum or coordinate system."""
    if len(raw) > MAX_FILE_BYTES:
        raise _refuse("file", f"the file is larger than {MAX_FILE_BYTES // 2**20} MB",
                      f"文件超过 {MAX_FILE_BYTES // 2**20} MB")
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise _refuse("file", f"not a GeoJSON file ({err})", f"不是 GeoJSON 文件（{err}）") from err
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = {"type": "FeatureCollection", "features": [document]}
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise _refuse("file", "not a GeoJSON FeatureCollection", "不是 GeoJSON 要素集合（FeatureCollection）")
    if len(document["features"]) > MAX_FEATURES:
        raise _refuse("file", f"at most {MAX_FEATURES} features per file", f"每个文件最多 {MAX_FEATURES} 个要素")
    named = None
    if not (crs or "").strip() and isinstance(document.get("crs"), dict):  # the old GeoJSON's named CRS
        named = (document["crs"].get("properties") or {}).get("name") if isinstance(
            document["crs"].get("properties"), dict) else None
        named = named if isinstance(named, str) else None
    convert = declared(crs or named) or _datum("wgs84")
    crs_name = (crs or named or "wgs84").strip()
    features = []
    for number, raw_feature in enumerate(document["features"], start=1):
        if not isinstance(raw_feature, dict) or raw_feature.get("type") != "Feature":
            features.append(Feature(number, {}, None, [Problem("feature", "not a GeoJSON Feature",
                                                               "不是 GeoJSON 要素（Feature）", number)]))
            continue
        feature = _converted(number, raw_feature.get("geometry"), convert, crs_name)
        properties = raw_feature.get("properties") or {}
        if isinstance(properties, dict):
            feature.properties = properties
        else:
            feature.problems.append(Problem("properties", "properties must be an object", "properties 须为对象",
                                            number))
        features.append(feature)
    return Layer(features, "feature")


def _source(prj: str | None, crs: str | None) -> tuple[Conversion, str]:
    convert = declared(crs)
    if convert is not None:
        return convert, crs.strip()  # type: ignore[union-attr]
    if prj is None or not prj.strip():
        raise _refuse("crs", "the Shapefile has no .prj, so its projection is unknown: add the .prj file, or declare "
                      "the coordinate system (e.g. EPSG:4549)",
                      "Shapefile 缺少 .prj 文件，投影未知：请附上 .prj 文件，或指定坐标系（例如 EPSG:4549）")
    try:
        source = pyproj.CRS.from_wkt(prj)
    except CRSError as err:
        shown = " ".join(prj.split())[:80]
        raise _refuse("crs", f"the projection in the .prj is unknown ({shown}…): declare the coordinate system "
                      "(e.g. EPSG:4549)", f".prj 中的投影无法识别（{shown}…）：请指定坐标系（例如 EPSG:4549）") from err
    return _projection(source), source.name


def _geometry(shape: shapefile.Shape) -> Any:
    """The shape as GeoJSON; None for a null shape, and a marker pyshp cannot express (a MultiPatch) is refused
    per feature."""
    if shape.shapeType == shapefile.NULL:
        return None
    try:
        return shape.__geo_interface__
    except Exception:  # pyshp raises its own and plain exceptions for shapes GeoJSON has no type for
        return {"type": f"shape type {shape.shapeType}"}


def read_shapefile(shp: bytes, dbf: bytes, shx: bytes | None = None, prj: str | None = None, cpg: str | None = None,
                   crs: str | None = None) -> Layer:
    """A Shapefile's features in WGS-84 from its .prj (or the declared system); attributes decoded by the .cpg,
    else UTF-8, else GB18030 as Chinese GIS exports often are."""
    convert, crs_name = _source(prj, crs)
    named = (cpg or "").strip()
    named = f"cp{named}" if named.isdigit() else named  # ArcGIS writes code pages as numbers: 936 is GBK
    encodings = list(dict.fromkeys([e for e in (named, "utf-8", "gb18030") if e]))
    for encoding in encodings:
        try:
            reader = shapefile.Reader(shp=io.BytesIO(shp), dbf=io.BytesIO(dbf),
                                      shx=io.BytesIO(shx) if shx else None, encoding=encoding)
            fields = [f.name for f in reader.fields[1:]]
            if len(reader) > MAX_FEATURES:
                raise _refuse("file", f"at most {MAX_FEATURES} features per file", f"每个文件最多 {MAX_FEATURES} 个要素")
            features = []
            for number, item in enumerate(reader.iterShapeRecords(), start=1):
                geometry = _geometry(item.shape)
                feature = _converted(number, geometry, convert, crs_name)
                feature.properties = item.record.as_dict()
                features.append(feature)
            return Layer(features, "feature", fields)
        except UnicodeDecodeError:
            continue
        except InputError:
            raise
        except (shapefile.ShapefileException, LookupError, ValueError, OSError) as err:
            if isinstance(err, LookupError) or "decode" in str(err):  # an unknown or wrong encoding: the next one
                continue
            raise _refuse("file", f"not a readable Shapefile ({err})", f"无法读取的 Shapefile（{err}）") from err
    raise _refuse("file", "the .dbf is neither UTF-8 nor GB18030 text: add a .cpg naming its encoding",
                  ".dbf 文件既不是 UTF-8 也不是 GB18030 编码：请附上注明编码的 .cpg 文件")


def read_shapefile_zip(raw: bytes, crs: str | None = None) -> Layer:
    """A zipped Shapefile: one .shp with its .dbf (and .shx, .prj, .cpg) beside it, within the size limits."""
    if len(raw) > MAX_FILE_BYTES:
        raise _refuse("file", f"the zip is larger than {MAX_FILE_BYTES // 2**20} MB",
                      f"压缩包超过 {MAX_FILE_BYTES // 2**20} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as err:
        raise _refuse("file", "not a zip file", "不是 zip 压缩包") from err
    members = [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename
               and not Path(m.filename).name.startswith(".")]
    shps = [m for m in members if m.filename.lower().endswith(".shp")]
    if not shps:
        raise _refuse("file", "the zip holds no .shp file: a Shapefile is its .shp, .shx, .dbf and .prj together",
                      "压缩包中没有 .shp 文件：Shapefile 由 .shp、.shx、.dbf 和 .prj 文件组成")
    if len(shps) > 1:
        raise _refuse("file", f"the zip holds {len(shps)} .shp files: one layer per zip",
                      f"压缩包中有 {len(shps)} 个 .shp 文件：每个压缩包只能包含一个图层")
    stem = shps[0].filename[:-4].lower()
    parts = {m.filename[len(stem):].lower(): m for m in members if m.filename.lower()[:-4] == stem}
    if ".dbf" not in parts:
        raise _refuse("file", "the zip has no .dbf beside its .shp: the attributes are missing",
                      "压缩包中 .shp 旁没有 .dbf 文件：缺少属性数据")
    if sum(m.file_size for m in parts.values()) > MAX_UNPACKED_BYTES:
        raise _refuse("file", f"the Shapefile is larger than {MAX_UNPACKED_BYTES // 2**20} MB unpacked",
                      f"Shapefile 解压后超过 {MAX_UNPACKED_BYTES // 2**20} MB")

    def text(suffix: str) -> str | None:
        return archive.read(parts[suffix]).decode("utf-8-sig", errors="replace") if suffix in parts else None

    return read_shapefile(archive.read(parts[".shp"]), archive.read(parts[".dbf"]),
                          archive.read(parts[".shx"]) if ".shx" in parts else None, text(".prj"), text(".cpg"), crs)


def read_table_layer(path: Path, crs: str | None = None) -> Layer:
    """A CSV/XLSX table, one feature per row numbered by its line; lat/lon columns are in the declared datum."""
    datum = (crs or "wgs84").strip().lower()
    if datum not in DATUMS:
        raise _refuse("crs", "a table's latitude and longitude are in wgs84, gcj02 or bd09",
                      "表格中的经纬度须为 wgs84、gcj02 或 bd09 坐标")
    table = read_table(path)
    features = []
    for number, raw in enumerate(table.rows, start=2):
        feature = Feature(number, {h: raw[i] if i < len(raw) else None for i, h in enumerate(table.headers)
                                   if h.strip()})
        extra = [str(i + 1) for i, value in enumerate(raw) if value not in (None, "")
                 and (i >= len(table.headers) or not table.headers[i].strip())]
        if extra:
            feature.problems.append(Problem("row", f"values in columns without a header: {', '.join(extra)}",
                                            f"无表头的列中有值：第 {'、'.join(extra)} 列", number))
        features.append(feature)
    return Layer(features, "row", table.headers, datum)


def read_layer(path: Path, crs: str | None = None) -> Layer:
    """Any of the files a geography import takes, by its suffix: .geojson/.json, .zip or .shp, .csv/.xlsx."""
    suffix = path.suffix.lower()
    if suffix in GEOJSON_SUFFIXES:
        return read_geojson(path.read_bytes(), crs)
    if suffix == ".zip":
        return read_shapefile_zip(path.read_bytes(), crs)
    if suffix == ".shp":
        def beside(ext: str) -> Path | None:
            found = [p for p in path.parent.iterdir() if p.stem == path.stem and p.suffix.lower() == ext]
            return found[0] if found else None
        dbf, shx, prj, cpg = beside(".dbf"), beside(".shx"), beside(".prj"), beside(".cpg")
        if dbf is None:
            raise _refuse("file", "no .dbf beside the .shp: the attributes are missing",
                          ".shp 旁没有 .dbf 文件：缺少属性数据")
        return read_shapefile(path.read_bytes(), dbf.read_bytes(), shx.read_bytes() if shx else None,
                              prj.read_text("utf-8", errors="replace") if prj else None,
                              cpg.read_text("utf-8", errors="replace") if cpg else None, crs)
    if suffix in TABLE_SUFFIXES:
        return read_table_layer(path, crs)
    raise _refuse("file", "a .geojson, a zipped Shapefile (.zip), or for holders a .csv or .xlsx file",
                  "请上传 .geojson 文件、Shapefile 压缩包（.zip），或（门前三包责任单位）.csv、.xlsx 文件")
