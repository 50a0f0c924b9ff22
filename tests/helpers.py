"""Small helpers shared by the tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def unique(prefix: str = "ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def local_time(hour: int, days_ago: int = 1) -> str:
    """An ISO timestamp at a given Shanghai hour, in the past whatever hour the suite runs at."""
    day = (datetime.now(timezone.utc) - timedelta(days=days_ago)).astimezone(SHANGHAI).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI).isoformat()


def event(category: str = "06029", grid: str = "DC-01", hour: int = 23, **extra) -> dict:
    body = {"source_event_id": unique(), "category": category, "grid": grid, "occurred_at": local_time(hour),
            "description": "测试事件"}
    body.update(extra)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = "civicrules-demo"):
    """Log in through the real form, CSRF token included."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_from(html: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def jpeg(taken_at: datetime | None = None, gps: tuple[float, float] | None = None, size: int = 64) -> bytes:
    """A real JPEG made with Pillow, with EXIF time (camera local time) and GPS position if given."""
    import io

    from PIL import Image

    image = Image.new("RGB", (size, size), (200, 80, 40))
    exif = Image.Exif()
    if taken_at is not None:
        exif.get_ifd(0x8769)[0x9003] = taken_at.astimezone(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            degrees, minutes = int(value), int((abs(value) - int(value)) * 60)
            return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))
        exif.get_ifd(0x8825).update({1: "N" if gps[0] >= 0 else "S", 2: dms(gps[0]),
                                     3: "E" if gps[1] >= 0 else "W", 4: dms(gps[1])})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload_photo(client, token: str, task_id: int, data: bytes | None = None, field: str = "photos",
                 stage: str = "after", name: str = "photo.jpg", lang: str = "en"):
    import io

    return client.post(f"/api/v1/tasks/{task_id}/evidence", data={
        "field": field, "stage": stage, "file": (io.BytesIO(jpeg() if data is None else data), name)},
        headers={**bearer(token), "Accept-Language": lang}, content_type="multipart/form-data")


def browser_login(page, base: str, username: str = "admin", password: str = "civicrules-demo") -> None:
    """Sign in through the real login form in a Playwright page."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
