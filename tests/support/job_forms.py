"""Pilot steps for the job forms and the jobs table, shared by the TUI tests: open a form,
fill its fields, pick a choice, submit it, wait for the job the form submitted to end, put
the jobs table's cursor on a job."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, Select

from tests.support.pilot import settle, until

JOB_WAIT = 3000  # event-loop turns (~0.1 s each): a deadline for a hung job, not a timing assertion


async def open_form(pilot, kind: str, *, from_menu: bool = False):
    """The `kind` form, once connected: through the `n` menu as a user picks it (`from_menu`),
    or through the app's own new-job action (what `n` and the palette end in)."""
    from tui.screens.job_form import JobForm
    from tui.screens.job_kind import KINDS

    app = pilot.app
    await until(pilot, lambda: app.conn is not None, "connected")
    if from_menu:
        await pilot.press("n")
        await settle(pilot)
        await pilot.click("#job-kinds")
        app.screen.query_one("#job-kinds").highlighted = [k for k, _ in KINDS].index(kind)
        await pilot.press("enter")
    else:
        app.action_new_job(kind)
    await until(pilot, lambda: isinstance(app.screen, JobForm), f"{kind} form")
    await settle(pilot)
    return app.screen


def fill(form, **values: str | bool) -> None:
    """Set the form's fields in this order, as a user would: a str is typed into an Input or
    picked in a Select, a bool ticks or clears a Checkbox."""
    for field, value in values.items():
        widget = form.query_one(f"#f-{field}")
        expected = Checkbox if isinstance(value, bool) else (Input, Select)
        assert isinstance(widget, expected), f"#f-{field} is a {type(widget).__name__}, not for {value!r}"
        widget.value = value


async def submitted_params(pilot) -> dict:
    """Save the form (ctrl+s) as a user does; the params of the job it submitted, as the job
    view that opens shows them."""
    from tui.screens.job_detail import JobDetailScreen

    app = pilot.app
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "submitted: the job view opens")
    view = app.screen
    await until(pilot, lambda: view.job, "job shown")
    return view.job["params"]


async def choose(pilot, form, field: str, value: str) -> None:
    """Pick `value` in the form's Select for `field`, once the form has offered it."""
    select = form.query_one(f"#f-{field}", Select)
    await until(pilot, lambda: value in [v for _, v in select._options], f"{value} offered in {field}")
    select.value = value


async def finished(pilot):
    """(the job view, the job) once the submitted job has ended and a success shows its outputs."""
    from tui.screens.job_detail import JobDetailScreen

    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "job detail open")
    screen = app.screen
    await until(
        pilot,
        lambda: (
            screen.job.get("status") in ("SUCCEEDED", "FAILED", "CANCELLED")
            and (screen.job["status"] != "SUCCEEDED" or screen.outputs_shown)
        ),
        "job finished",
        JOB_WAIT,
    )
    assert screen.job["status"] == "SUCCEEDED", screen.job.get("error")
    return screen, screen.job


async def highlight_job(pilot, job_id: str):
    """Once connected, the Jobs tab (`j`) with the table focused and its cursor on the job's row,
    once the job is listed; the jobs pane."""
    from tui.widgets.jobs_pane import JobsPane

    app = pilot.app
    await until(pilot, lambda: app.conn is not None, "connected")
    await pilot.press("j")
    jobs = app.query_one(JobsPane)
    await until(pilot, lambda: job_id in jobs.jobs, "listed")
    table = jobs.query_one("#jobs-table")
    table.focus()
    table.move_cursor(row=table.get_row_index(job_id))
    return jobs
