"""The zone lookup per event (issue 16, point 7; goal under 0.2 ms per event on one core) with 10,000 zones of
mixed geometry over a 30 km city: 40 % polygons (restricted-business zones, residential areas), 30 % streets
(lines 12–40 m wide) and 30 % schools (points with a 200 m buffer).

Timed, in this process:
  build    engine.space.index.PlaceIndex over the 10,000 zones (projection, buffers, STRtree), once per change;
  lookup   PlaceIndex.at + the campaign filter (engine.space.zones.kinds_for) for N random points, as the fact
           `in_zone` is computed for each located event;
  batch    engine.space.zones.zones_at for batches of 200 located events against a SQLite file holding the
           10,000 zones: the per-batch stamp query and the lookups, as History.of runs it in the pipeline.
Printed: ms per event for each, and one JSON line.

    .venv/bin/python bench/zones.py                 # 10,000 zones, 20,000 points
    .venv/bin/python bench/zones.py --zones 2000 --points 5000
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_model  # noqa: E402

from sqlalchemy import create_engine, insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine.core.models import Base, Zone  # noqa: E402
from engine.space.index import PlaceIndex  # noqa: E402
from engine.space.zones import kinds_for, places, zones_at  # noqa: E402

CENTRE = (35.03, 111.01)
SPAN_M = 30_000
GOAL_MS = 0.2


def _offset(rng: random.Random) -> tuple[float, float]:
    """A random point of the city, as (lat, lon)."""
    dy, dx = rng.uniform(-SPAN_M / 2, SPAN_M / 2), rng.uniform(-SPAN_M / 2, SPAN_M / 2)
    lat = CENTRE[0] + dy / 111_195
    return lat, CENTRE[1] + dx / (111_195 * math.cos(math.radians(lat)))


def zone_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        lat, lon = _offset(rng)
        roll = rng.random()
        if roll < 0.4:
            w, h = rng.uniform(0.0005, 0.004), rng.uniform(0.0005, 0.004)
            ring = [[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h], [lon, lat]]
            kind, geometry, width, buffer = (rng.choice(["restricted_business", "residential"]),
                                             {"type": "Polygon", "coordinates": [ring]}, None, None)
        elif roll < 0.7:
            line = [[lon, lat]]
            for _ in range(rng.randint(1, 4)):
                line.append([line[-1][0] + rng.uniform(-0.004, 0.004), line[-1][1] + rng.uniform(-0.004, 0.004)])
            kind, geometry, width, buffer = ("strict_street", {"type": "LineString", "coordinates": line},
                                             rng.uniform(12, 40), None)
        else:
            kind, geometry, width, buffer = ("school_surroundings", {"type": "Point", "coordinates": [lon, lat]},
                                             None, 200.0)
        rows.append({"id": i + 1, "kind": kind, "name": f"zone {i + 1}", "geometry": geometry, "width_metres": width,
                     "buffer_metres": buffer, "campaign_id": None if rng.random() < 0.8 else 1, "active": True,
                     "updated_at": datetime(2026, 12, 1, tzinfo=UTC)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(16)
    rows = zone_rows(args.zones, rng)
    points = [_offset(rng) for _ in range(args.points)]

    started = time.perf_counter()
    index = PlaceIndex(places(SimpleNamespace(**r) for r in rows))
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    hits = 0
    for lat, lon in points:
        hits += bool(kinds_for(index.at(lat, lon), 1))
    lookup_ms = (time.perf_counter() - started) * 1000 / len(points)

    folder = Path(tempfile.mkdtemp(prefix="zones-bench-"))
    engine = create_engine(f"sqlite:///{folder / 'zones.db'}")
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["campaigns"], Zone.__table__])
    with Session(engine) as session:
        session.execute(insert(Zone), rows)
        session.commit()
        events = [SimpleNamespace(id=i, lat=lat, lon=lon) for i, (lat, lon) in enumerate(points)]
        zones_at(session, events[:1])  # the first batch of a process builds the index
        started = time.perf_counter()
        for start in range(0, len(events), 200):
            zones_at(session, events[start:start + 200])
        batch_ms = (time.perf_counter() - started) * 1000 / len(events)
    engine.dispose()
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()

    kinds = {k: sum(1 for r in rows if r["kind"] == k) for k in sorted({r["kind"] for r in rows})}
    print(f"{args.zones:,} zones ({', '.join(f'{v:,} {k}' for k, v in kinds.items())}), {len(points):,} points; "
          f"{cpu_model()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"  build the index             {build_s:8.2f} s (once per change of any zone)")
    print(f"  lookup per event            {lookup_ms:8.4f} ms  ({hits / len(points):.0%} of points in some zone)")
    print(f"  zones_at per event (batch)  {batch_ms:8.4f} ms  (batches of 200, stamp query included)")
    verdict = "met" if batch_ms < GOAL_MS else "NOT met"
    print(f"  goal < {GOAL_MS} ms per event: {verdict}")
    print(json.dumps({"bench": "zones", "code": code_version(), "zones": args.zones, "points": len(points),
                      "build_s": round(build_s, 3), "lookup_ms": round(lookup_ms, 5), "batch_ms": round(batch_ms, 5)}))


if __name__ == "__main__":
    main()
