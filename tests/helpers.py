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
