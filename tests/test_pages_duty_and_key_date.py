"""The forms the API's actions needed and the pages lacked, in process on the time-skipping
server: setting a key date, and calling the earlier team back during a period after the
transfer (a duty's reopen). Each is offered exactly to whom, and when, the workflow accepts it."""

from __future__ import annotations

from datetime import timedelta

from tests.pages_helpers import SECRET, follow_the_clock
from tests.scenario import Scenario
from tests.test_engine_capabilities import june_monday
from tests.test_nottingham import STEPS, walk
from tests.test_pages_actions import FORMS, form_fields, page_of, sign_in, start, trail_of
from tests.transfers import api_on, skip_to

HUB, LEAVING_CARE = "safeguarding_hub", "s-and-p-to-cla-leaving-care"


async def test_a_key_date_is_set_from_the_page_by_whoever_may_set_it(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        tid = await start(api, ts_env, f"{HUB}-s_and_p-tm", HUB, LEAVING_CARE, "C400011")
        # The protocol's set_by: the sending Team Manager and social worker, the receiving
        # Team Manager; not the receiving social worker.
        await sign_in(api, HUB, f"{HUB}-cla-sw")
        assert "set-key-date" not in FORMS.findall(await page_of(api, tid))
        await sign_in(api, HUB, f"{HUB}-s_and_p-sw")
        page = await page_of(api, tid)
        assert "set-key-date" in FORMS.findall(page)
        assert '<option value="turns_15_and_half"' in page
        day = (await ts_env.get_current_time()).date() + timedelta(days=40)
        posted = await api.post(f"/pages/transfers/{tid}/actions/set-key-date", data={
            **form_fields(page, "set-key-date"), "key_date": "turns_15_and_half",
            "date-day": str(day.day), "date-month": str(day.month),
            "date-year": str(day.year), "note": "From the case system"})
        assert posted.status_code == 303, posted.text
        # The transfer now plans the day; the form says so when it offers a correction.
        again = await page_of(api, tid, f"(now {day.day} {day:%B %Y})")
        assert "set-key-date" in FORMS.findall(again)
        read = await api.get(f"/transfers/{tid}",
                             headers={"Authorization": f"Bearer demo-{HUB}-s_and_p-sw"})
        assert read.json()["key_dates"] == {"turns_15_and_half": day.isoformat()}
        recorded = [e for e in await trail_of(api, tid, f"{HUB}-s_and_p-sw")
                    if e["kind"] == "key_date_set:turns_15_and_half"]
        assert len(recorded) == 1 and recorded[0]["note"] == "From the case system"


async def test_the_earlier_team_is_called_back_from_the_page_while_the_period_runs(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    await skip_to(ts_env, june_monday(await ts_env.get_current_time()))
    s = Scenario(ts_env.client, worker, "nottingham", "cic-to-fieldwork")
    view = await s.open(await ts_env.get_current_time(), case_id="C400012")
    # Not before the transfer: the workflow refuses it, and the page does not offer it.
    assert (await s.refused("concerns-escalated", "fieldwork-tm"))[0] == "WrongStage"
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "nottingham", "nottingham-fieldwork-tm")
        before = await page_of(api, view.transfer_id)
        assert "concerns-escalated" not in FORMS.findall(before)
        await walk(ts_env, s, None, STEPS["cic-to-fieldwork"])
        page = await page_of(api, view.transfer_id, 'id="action-concerns-escalated"')
        # The period itself has no action of its own: only its call back is offered.
        assert "concerns-window" not in FORMS.findall(page)
        # The reopen's `by` is the receiving side: the earlier team is told, not asked.
        await sign_in(api, "nottingham", "nottingham-cic-tm")
        assert "concerns-escalated" not in FORMS.findall(await page_of(api, view.transfer_id))

        await sign_in(api, "nottingham", "nottingham-fieldwork-tm")
        page = await page_of(api, view.transfer_id)
        posted = await api.post(
            f"/pages/transfers/{view.transfer_id}/actions/concerns-escalated",
            data={**form_fields(page, "concerns-escalated"), "note": "Police called"})
        assert posted.status_code == 303, posted.text
        await page_of(api, view.transfer_id, "resumes an active role: recorded by")
        reopened = [e for e in await trail_of(api, view.transfer_id,
                                              "nottingham-fieldwork-tm")
                    if e["kind"] == "reopened:concerns_window"]
        assert len(reopened) == 1 and reopened[0]["note"] == "Police called"
        assert reopened[0]["actor_id"] == "nottingham-fieldwork-tm"
