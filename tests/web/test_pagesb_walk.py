"""Scratch walk (not committed): every menu page per role, grepping visible text for codes and UTC."""
import re
from tests.web.test_local_pages import visible_text, menu_links, task_id  # noqa: F401

CODES = re.compile(r"(?<![\w./-])(ext_requested|park_requested|void_requested|sent_back|submitted|dispatched|handling|"
                   r"zero_tolerance\.\w+|strict_management\.\w+|zero_tolerance|strict_management|field_unit|"
                   r"subdistrict|inspection_squad|textarea|multichoice|escalate|list_publicly|hotline|patrol|"
                   r"\+00:00|UTC|\d\d:\d\d:\d\d\.\d+)(?![\w-])")


def test_walk(client, login, task_id):
    for user in ("admin", "supervisor", "checker", "dispatcher", "dongcheng", "auditor", "assessor"):
        client.post("/logout")
        login(client, user)
        seen = set()
        for start in ("/", "/admin/"):
            r = client.get(start + "?lang=zh_Hans_CN")
            if r.status_code != 200:
                continue
            for label, href in menu_links(r.get_data(as_text=True)):
                if href in seen or not href.startswith("/") or "logout" in href or "lang=" in href:
                    continue
                seen.add(href)
                p = client.get(href + "?lang=zh_Hans_CN")
                if p.status_code != 200:
                    continue
                t = visible_text(p.get_data(as_text=True))
                hits = sorted({m.group(1) for m in CODES.finditer(t)})
                if hits:
                    ctx = [re.sub(r"\s+", " ", t[max(0, m.start()-50):m.end()+10]) for m in CODES.finditer(t)][:3]
                    print(f"WALK {user} {href} {hits} {ctx}")


def test_walk_task(client, login, task_id):
    for user in ("dongcheng", "checker", "dispatcher", "supervisor"):
        client.post("/logout")
        login(client, user)
        for href in (f"/tasks/{task_id}", "/inbox", "/tasks"):
            p = client.get(href + "?lang=zh_Hans_CN")
            t = visible_text(p.get_data(as_text=True))
            hits = sorted({m.group(1) for m in CODES.finditer(t)})
            ctx = [re.sub(r"\s+", " ", t[max(0, m.start()-50):m.end()+10]) for m in CODES.finditer(t)][:3]
            print(f"WALK {user} {href} {p.status_code} {hits} {ctx}")
