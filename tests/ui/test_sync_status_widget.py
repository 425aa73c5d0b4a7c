"""The sync status widget an activity's page (and a contact's) mounts: it shows what the record
sync status service says, and reads it again when asked."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from textual.app import App, ComposeResult

from crmtui.model import Account, Activity, SyncKind, SyncLink, SyncRun, SyncSettings, User
from crmtui.store import TinyDBRepository
from crmtui.sync.record_status import RecordState
from crmtui.widgets.sync_status import SyncStatusView

from .pilot_helpers import plain

START = datetime(2026, 11, 20, 9, tzinfo=UTC)


class Page(App[None]):
    def __init__(self, view: SyncStatusView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield self.view


def test_activity_sync_status_widget(repo: TinyDBRepository, ann: User) -> None:
    repo.add_account(Account(user_id=ann.id, email="ann.lee@gmail.com"))
    repo.save_sync_settings(SyncSettings(user_id=ann.id, activities_from=date(2026, 11, 1)))
    activity = repo.add_activity(Activity(title="Quarterly review", organizer_id=ann.id,
                                          start=START, show_in_calendar=True))

    async def main() -> None:
        view = SyncStatusView(repo, ann.id, activity)
        async with Page(view).run_test(size=(80, 12)) as pilot:
            await pilot.pause()
            assert view.status is not None and view.status.state is RecordState.PENDING
            text = plain(view.content)
            assert "Waiting for the next sync with ann.lee@gmail.com" in text
            assert "added to Google Calendar at the next sync" in text
            synced = activity.modified
            repo.put_link(SyncLink(user_id=ann.id, kind=SyncKind.ACTIVITIES,
                                   local_id=activity.id, remote_id="evt7", synced=synced))
            repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.ACTIVITIES, started=synced,
                                 finished=synced, status="ok", errors=[
                                     "'Quarterly review': its attendees were not all written"]))
            view.show_for(repo.get_activity(activity.id))
            await pilot.pause()
            text = plain(view.content)
            assert "Synced with ann.lee@gmail.com" in text
            assert synced.astimezone().strftime("%Y-%m-%d %H:%M") in text
            assert "Skipped" in text and "its attendees were not all written" in text
            hidden = repo.update_activity(repo.get_activity(activity.id).evolve(
                show_in_calendar=False))
            view.show_for(hidden)
            await pilot.pause()
            assert "removed from Google Calendar at the next sync" in plain(view.content)

    asyncio.run(main())
