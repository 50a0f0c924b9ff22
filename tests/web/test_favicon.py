"""A favicon (issue 21 point 11): /favicon.ico answers before anyone signs in, and the web, API-docs and admin pages
link the icon, so a browser tab shows CivicRules' icon instead of a 404 in the log."""
from __future__ import annotations


def test_the_favicon_is_served_and_linked(client, login):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    links = ('rel="icon" href="/static/favicon.svg"', 'rel="icon" href="/favicon.ico"')
    assert all(link in client.get("/login").get_data(as_text=True) for link in links)
    login(client, "admin")
    for page in ("/", "/admin/category/", "/api/docs"):
        html = client.get(page).get_data(as_text=True)
        assert all(link in html for link in links), page
