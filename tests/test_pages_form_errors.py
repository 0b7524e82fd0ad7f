"""The GOV.UK error pattern on the action forms, in process on the time-skipping server: every
problem a form can tell by itself at once, the workflow's sentence about a field beside that
field, and the manager's words kept whatever the refusal."""

from __future__ import annotations

from datetime import timedelta

from tests.pages_helpers import SECRET, ErrorPattern, follow_the_clock
from tests.scenario import Scenario
from tests.test_engine_capabilities import june_monday
from tests.test_pages_actions import form_fields, page_of, sign_in, start
from tests.test_pages_start import form_of
from tests.transfers import api_on, skip_to

NOTE = "Family asked for more time; see the plan"


async def test_an_extension_before_the_due_date_is_shown_beside_the_date(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    # The first Monday of June: its next three weeks hold no bank holiday.
    monday = june_monday(await ts_env.get_current_time())
    await skip_to(ts_env, monday)
    s = Scenario(ts_env.client, worker, "nottingham", "fieldwork-to-tfst")
    view = await s.open(monday, case_id="C400021")
    url = f"/pages/transfers/{view.transfer_id}/actions/extend-deadline"
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "nottingham", "nottingham-fieldwork-tm")
        page = await page_of(api, view.transfer_id, 'id="action-extend-deadline"')
        sent = {**form_fields(page, "extend-deadline"), "deadline": "co_working"}

        # Nothing but the deadline: both missing fields at once, before anything is sent.
        empty = await api.post(url, data=sent)
        assert empty.status_code == 422
        shown = ErrorPattern(empty.text)
        shown.shows("extend-deadline-until-day", "extend-deadline-until-error",
                    "Enter the new due date")
        shown.shows("extend-deadline-note", "extend-deadline-note-error",
                    "Say why, in the note")
        assert shown.refusal == ""
        assert [href for href, _ in shown.links] == ["#extend-deadline-until-day",
                                                     "#extend-deadline-note"]

        # A day before the due date: the workflow's sentence, beside the date; the note kept.
        wednesday = monday.date() + timedelta(days=9)
        early = await api.post(url, data={
            **sent, "until-day": str(wednesday.day), "until-month": str(wednesday.month),
            "until-year": str(wednesday.year), "note": NOTE})
        assert early.status_code == 422
        shown = ErrorPattern(early.text)
        shown.shows("extend-deadline-until-day", "extend-deadline-until-error",
                    "An extension must be later than the due date")
        assert f">{NOTE}</textarea>" in early.text
        assert f'name="until-day" type="text" inputmode="numeric" value="{wednesday.day}"' \
               in early.text
        assert 'class="govuk-form-group govuk-form-group--error"' in early.text
        assert 'govuk-input--error" id="extend-deadline-until-day"' in early.text


async def test_a_date_that_is_not_a_date_and_a_rule_that_refuses_keep_the_note(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        tid = await start(api, ts_env, "gateshead-sgcp-tm", "gateshead", "sgcp-to-lac",
                          "C400022")
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        page = await page_of(api, tid)
        url = f"/pages/transfers/{tid}/actions/set-transfer-date"
        no_day = await api.post(url, data={
            **form_fields(page, "set-transfer-date"), "transfer_date-day": "31",
            "transfer_date-month": "2", "transfer_date-year": "2027", "note": NOTE})
        assert no_day.status_code == 422
        ErrorPattern(no_day.text).shows(
            "set-transfer-date-transfer_date-day", "set-transfer-date-transfer_date-error",
            "Enter a real date")
        assert f">{NOTE}</textarea>" in no_day.text

        # Another's step: a rule, not a field. The refusal is the form's, no form is offered
        # again, and the words typed are still there to copy.
        await sign_in(api, "gateshead", "gateshead-lac-sw")
        mine = await page_of(api, tid)
        other = await api.post(f"/pages/transfers/{tid}/actions/authorise-summary",
                               data={**form_fields(mine, "record-meeting"), "note": NOTE})
        assert other.status_code == 403
        shown = ErrorPattern(other.text)
        assert "Only the Team Manager of sgcp may record" in shown.refusal
        assert shown.links == [] and shown.title.startswith("Error: ")
        assert 'id="action-authorise-summary"' not in other.text
        assert f'readonly>{NOTE}</textarea>' in other.text
        # A date that is not one, on a form not offered to this person: still said.
        unoffered = await api.post(url, data={
            **form_fields(mine, "record-meeting"), "transfer_date-day": "31",
            "transfer_date-month": "2", "transfer_date-year": "2027"})
        assert unoffered.status_code == 422
        assert "Enter a real date" in ErrorPattern(unoffered.text).refusal


async def test_the_start_form_shows_every_problem_beside_its_field_at_once(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        sent = {**await form_of(api, "sgcp-to-lac"), "case_id": "C400023",
                "anchor-day": "", "anchor-month": "", "anchor-year": "",
                "anchor-time": "half nine", "agreed-day": "1", "agreed-month": "13",
                "agreed-year": "2027"}
        answer = await api.post("/pages/transfers/new", data=sent)
        assert answer.status_code == 422
        shown = ErrorPattern(answer.text)
        shown.shows("anchor-day", "anchor-error",
                    "Enter the date of the event that starts the clock")
        shown.shows("anchor-time", "anchor-time-error", "on the 24-hour clock")
        shown.shows("agreed-day", "agreed-error", "Enter a real date")
        assert [h for h, _ in shown.links] == ["#anchor-day", "#anchor-time", "#agreed-day"]
        # What was typed is kept to correct; nothing was started.
        assert 'value="C400023"' in answer.text and 'value="half nine"' in answer.text
        listed = await api.get("/transfers", headers={
            "Authorization": "Bearer demo-gateshead-sgcp-tm"})
        assert listed.json()["count"] == 0


async def test_a_late_allocation_asks_for_the_reason_as_the_workflow_does(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    monday = june_monday(await ts_env.get_current_time())
    await skip_to(ts_env, monday)
    s = Scenario(ts_env.client, worker, "st_helens", "mash-to-duty")
    view = await s.open(monday, by="mash-sw", case_id="C400024")
    await s.act("send-contact", "mash-sw")  # transferred: 1 working day to allocate
    tid, note = view.transfer_id, 'for="allocate-note">Note'
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "st_helens", "st_helens-duty-tm")
        on_time = await page_of(api, tid, 'id="action-allocate"')
        assert f"{note} (optional)" in on_time
        # Wednesday: Tuesday's 17:00 has passed, and the allocation needs its reason.
        await skip_to(ts_env, monday + timedelta(days=2, hours=1))
        late = await page_of(api, tid, f"{note} (why)")
        url = f"/pages/transfers/{tid}/actions/allocate"
        sent = {**form_fields(late, "allocate"), "worker_id": "W1"}
        unsaid = await api.post(url, data=sent)
        assert unsaid.status_code == 422
        ErrorPattern(unsaid.text).shows("allocate-note", "allocate-note-error",
                                        "Say why, in the note")
        assert 'value="W1"' in unsaid.text
        # What the body's own checks refuse, in a manager's words, beside the field.
        for field, value, words in (
                ("worker_id", "Jane Smith", "Enter the worker id as the case system has it"),
                ("note", "x" * 4001, "The note must be 4000 characters or fewer")):
            refused = await api.post(url, data={**sent, "note": "Staff off sick", field: value})
            assert refused.status_code == 422
            ErrorPattern(refused.text).shows(f"allocate-{field}", f"allocate-{field}-error",
                                             words)
            assert "pattern" not in refused.text and "Jane Smith</a>" not in refused.text
        posted = await api.post(url, data={**sent, "note": "Staff off sick"})
        assert posted.status_code == 303, posted.text
