"""A form's refusals are shown next to the field they concern, in words an official reads: the sign-in form
names an empty password instead of reloading silently; the send-back form names the grounds, not their codes."""
from __future__ import annotations

import html

import pytest

from engine.handling.tasks import SEND_BACK_GROUNDS
from tests.helpers import csrf_from, new_api_task


@pytest.mark.parametrize("lang, required", [("zh-CN", "必填"), ("en", "required")])
def test_the_sign_in_form_names_an_empty_field(client, lang, required):
    page = client.get(f"/login?lang={lang}").get_data(as_text=True)
    answer = client.post(f"/login?lang={lang}", data={"username": "admin", "password": "",
                                                      "csrf_token": csrf_from(page)}).get_data(as_text=True)
    errors = answer.split('id="password-errors"', 1)[1].split("</div>", 1)[0]
    assert 'class="field-error"' in errors and required in errors
    assert 'aria-describedby="password-errors"' in answer and 'id="username-errors"' not in answer


@pytest.mark.parametrize("lang, asked, name", [("zh-CN", "须选择退单依据", 0), ("en", "choose the grounds", 1)])
def test_an_empty_send_back_names_the_grounds_without_codes(client, csrf_on, login, intake_token, drain,
                                                             lang, asked, name):
    task = new_api_task(client, intake_token, drain)
    login(client, "dongcheng")
    page = client.get(f"/tasks/{task['id']}?lang={lang}").get_data(as_text=True)
    empty = client.post(f"/tasks/{task['id']}/send-back?lang={lang}",
                        data={"grounds": "", "comment": "", "version": "1", "csrf_token": csrf_from(page)})
    errors = html.unescape(empty.get_data(as_text=True).split('id="grounds-errors"', 1)[1].split("</div>", 1)[0])
    assert empty.status_code == 422 and asked in errors
    for code, names in SEND_BACK_GROUNDS.items():
        assert names[name] in errors and (code not in errors or code == names[name])  # "other" names itself
