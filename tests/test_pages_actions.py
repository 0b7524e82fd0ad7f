"""Actions from a transfer's page, in process: the forms each person is offered, a checklist
with an item not applicable, a double submission acting once, readable refusals, CSRF."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx

from tests.pages_helpers import SECRET, ErrorPattern, csrf_of, follow_the_clock
from tests.transfers import api_on

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
FORMS = re.compile(r'<form method="post" action="/pages/transfers/transfer-[^"/]+/actions/'
                   r'([a-z0-9-]+)" novalidate class="app-action" id="action-\1"')


async def sign_in(api: httpx.AsyncClient, authority: str, staff_id: str) -> None:
    chooser = await api.get("/pages/sign-in", params={"authority": authority})
    signed = await api.post("/pages/sign-in", data={"csrf_token": csrf_of(chooser.text),
                                                    "staff_id": staff_id})
    assert signed.status_code == 303, signed.text


async def start(api: httpx.AsyncClient, ts_env: Any, starter: str, authority: str,
                pathway: str, case_id: str) -> str:
    now = await ts_env.get_current_time()
    started = await api.post(
        "/transfers", headers={"Authorization": f"Bearer demo-{starter}"},
        json={"authority": authority, "pathway": pathway, "case_id": case_id,
              "anchor_at": (now - timedelta(hours=1)).isoformat()})
    assert started.status_code == 201, started.text
    return str(started.json()["transfer_id"])


async def page_of(api: httpx.AsyncClient, tid: str, until: str = 'id="actions"') -> str:
    """The transfer's page once the worker has stored what `until` shows."""
    for _ in range(200):
        page = await api.get(f"/pages/transfers/{tid}")
        if page.status_code == 200 and until in page.text:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{until!r} never reached the page")


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of one rendered form: its CSRF token and its Idempotency-Key."""
    start = html.index(f'id="action-{action}"')
    chunk = html[start:html.index("</form>", start)]
    found = KEY.search(chunk)
    assert found
    return {"csrf_token": csrf_of(html), "idempotency_key": found.group(1)}


async def trail_of(api: httpx.AsyncClient, tid: str, token: str) -> list[dict[str, Any]]:
    events = await api.get(f"/transfers/{tid}/events",
                           headers={"Authorization": f"Bearer demo-{token}"})
    assert events.status_code == 200
    return list(events.json())


async def test_each_person_is_offered_what_the_protocol_lets_them_do(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        tid = await start(api, ts_env, "gateshead-sgcp-tm", "gateshead", "sgcp-to-lac",
                          "C400001")
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        manager = await page_of(api, tid)
        assert set(FORMS.findall(manager)) == {
            "record-care-order", "record-section-20", "authorise-summary",
            "complete-checklist", "inform-iro", "set-transfer-date", "raise-dispute",
            "withdraw"}
        # The legal gateway waits for the legal status (the workflow's check_order).
        assert 'id="action-record-legal-gateway"' not in manager
        # The checklist's items are checkboxes; each form has its own fresh key.
        assert 'name="items" type="checkbox" value="genogram_current"' in manager
        assert len(set(KEY.findall(manager))) == len(FORMS.findall(manager))
        again = (await api.get(f"/pages/transfers/{tid}")).text
        assert not set(KEY.findall(manager)) & set(KEY.findall(again))

        await sign_in(api, "gateshead", "gateshead-lac-sw")
        worker_page = await page_of(api, tid)
        assert FORMS.findall(worker_page) == ["record-meeting"]
        for attendee in ("child", "lac_social_worker", "sgcp_social_worker"):
            assert f'name="attendees" type="checkbox" value="{attendee}"' in worker_page


async def test_a_double_submission_acts_once_and_refusals_read_as_the_apis(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        tid = await start(api, ts_env, "gateshead-sgcp-tm", "gateshead", "sgcp-to-lac",
                          "C400002")
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        page = await page_of(api, tid)
        sent = {**form_fields(page, "record-care-order"), "note": "Care order granted"}
        url = f"/pages/transfers/{tid}/actions/record-care-order"

        # Without the session's token nothing is taken.
        forged = await api.post(url, data={**sent, "csrf_token": ""})
        assert forged.status_code == 403
        first, second = await asyncio.gather(api.post(url, data=sent), api.post(url, data=sent))
        for answer in (first, second):
            assert answer.status_code == 303, re.findall(r"id=\"refusal\">([^<]*)", answer.text)
            assert answer.headers["location"] == f"/pages/transfers/{tid}" \
                                                 "?done=record-care-order"
        done = await page_of(api, tid, "Done by gateshead-sgcp-tm")
        banner = (await api.get(first.headers["location"])).text
        assert "govuk-notification-banner--success" in banner
        assert "Recorded: Record care order" in banner
        assert "record-care-order" not in FORMS.findall(done)
        assert "record-legal-gateway" not in FORMS.findall(done)  # after a care order,
        assert "Not needed" in done  # the gateway (section 20 only) is not needed
        recorded = [e for e in await trail_of(api, tid, "gateshead-sgcp-tm")
                    if e["kind"].startswith("gate:legal_status")]
        assert len(recorded) == 1 and recorded[0]["note"] == "Care order granted"

        # The workflow's refusal above the form sent again, its items in the form's words.
        checklist = {**form_fields(done, "complete-checklist"), "items": "genogram_current"}
        refused = await api.post(f"/pages/transfers/{tid}/actions/complete-checklist",
                                 data=checklist)
        assert refused.status_code == 422
        assert "There is a problem" in refused.text
        assert "The checklist must confirm every item. Not confirmed: Chronology up to date, " \
               "Recording up to date" in refused.text
        assert "Not confirmed: chronology_up_to_date" not in refused.text
        assert 'id="action-complete-checklist"' in refused.text
        assert 'value="genogram_current" checked' in refused.text

        # Another's step: the API's sentence, and no form to try again.
        await sign_in(api, "gateshead", "gateshead-lac-sw")
        mine = await page_of(api, tid)
        other = await api.post(f"/pages/transfers/{tid}/actions/authorise-summary",
                               data=form_fields(mine, "record-meeting"))
        assert other.status_code == 403
        assert "Only the Team Manager of sgcp may record" in other.text
        assert 'id="action-authorise-summary"' not in other.text


async def test_a_checklist_item_not_applicable_is_kept_with_its_reason(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    authority, manager = "safeguarding_hub", "safeguarding_hub-s_and_p-tm"
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        tid = await start(api, ts_env, manager, authority, "s-and-p-to-cla-section-20",
                          "C400003")
        await sign_in(api, authority, manager)
        page = await page_of(api, tid)
        optional = "childs_wishes_and_feelings_recorded"
        assert f'name="not_applicable" type="checkbox" value="{optional}"' in page
        items = ["case_records_complete", "change_of_worker_recorded_in_care_plan",
                 "previous_assessments_on_file"]
        url = f"/pages/transfers/{tid}/actions/{action_of(page, 'records')}"
        base = form_fields(page, action_of(page, "records"))
        # A reason left out is asked for before anything is sent.
        unsaid = await api.post(url, data={**base, "items": items, "not_applicable": optional})
        assert unsaid.status_code == 422
        reason = f"{action_of(page, 'records')}-reason-{optional}"
        ErrorPattern(unsaid.text).shows(
            reason, f"{reason}-error",
            "Give the reason childs wishes and feelings recorded is not applicable")
        assert f'value="{optional}" checked' in unsaid.text  # what was ticked stays ticked
        posted = await api.post(url, data={
            **base, "items": items, "not_applicable": optional,
            f"reason-{optional}": "Too young to give a view", "note": "Records checked"})
        assert posted.status_code == 303, posted.text
        await page_of(api, tid, f"not applicable: {optional}")
        recorded = next(e for e in await trail_of(api, tid, manager)
                        if e["kind"].startswith("gate:records"))
        assert f"not applicable: {optional}" in recorded["summary"]
        assert "Records checked" in recorded["note"]
        assert f"{optional}: Too young to give a view" in recorded["note"]


def action_of(html: str, gate: str) -> str:
    """The action of the form whose checklist belongs to `gate` (the protocol names it)."""
    forms = FORMS.findall(html)
    found = [a for a in forms if f'id="{a}-items-' in html]
    assert len(found) == 1, (gate, forms)
    return str(found[0])
