"""With the database unreachable, intake answers 503 with Retry-After (in the caller's language) and
stores nothing; the sender retries the same events later."""
from __future__ import annotations

import socket

from tests.helpers import bearer, event


def test_intake_answers_503_with_retry_after_when_the_database_is_gone(settings):
    from dataclasses import replace

    from app import create_app

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = replace(settings, database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=2")
    client = create_app(gone, {"TESTING": True}).test_client()
    response = client.post("/api/v1/events", json=event(), headers={**bearer("cri_whatever"), "Accept-Language": "en"})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["title"] == "Service unavailable"
    zh = client.post("/api/v1/events/batch", json={"events": [event()]},
                     headers={**bearer("cri_whatever"), "Accept-Language": "zh-CN"})
    assert zh.status_code == 503 and zh.get_json()["title"] == "服务暂不可用"
