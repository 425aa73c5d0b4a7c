"""The command line of activity sync: ``crmtui sync setup activities``, ``crmtui sync
activities`` (``--user``, exit statuses) and ``crmtui sync`` alone over both kinds (``--due``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from calkit import Calendar
from click.testing import CliRunner, Result
from filelock import FileLock

from crmtui.cli import cli
from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.model import Account, Activity, SyncKind, SyncSettings, Tag, User
from crmtui.store import ActivityQuery, TinyDBRepository


def crm(data_dir: Path, *args: str) -> Result:
    """``crmtui --data-dir DIR --user ann@example.com ARGS``, in process."""
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--user", "ann@example.com",
                                    *args], catch_exceptions=False)


def ok(data_dir: Path, *args: str) -> str:
    result = crm(data_dir, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def fails(data_dir: Path, *args: str, code: int = 1) -> str:
    """The command exits ``code``, without a traceback; its stderr (a run that failed still
    prints its summary on stdout: what it did before it stopped)."""
    result = crm(data_dir, *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def settings_of(data_dir: Path, user: User) -> SyncSettings:
    """The user's sync settings as the command line saved them (read through a fresh store)."""
    from crmtui.store import open_store

    repo = open_store(data_dir)
    try:
        return repo.get_sync_settings(user.id)
    finally:
        repo.close()


def set_up_activities(repo: TinyDBRepository, user: User, **changes: object) -> None:
    repo.save_sync_settings(repo.get_sync_settings(user.id).evolve(
        activities_from=date(2026, 11, 1), **changes))


def lock_file(data_dir: Path, user: User, kind: str) -> Path:
    """The lock a running sync of ``user`` and ``kind`` holds (the test holds it instead)."""
    path = data_dir / "locks" / f"sync-{user.id}-{kind}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- sync setup activities


def test_setup_saves_the_date_and_the_schedule(data_dir: Path, user: User) -> None:
    saved = json.loads(ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01",
                          "--every", "15m", "--json"))
    assert (saved["activities_from"], saved["activities_auto"], saved["activities_period"]) \
        == ("2026-11-01", True, 15)
    assert saved["google_account"] is None
    settings = settings_of(data_dir, user)
    assert (settings.activities_from, settings.activities_auto, settings.activities_period) \
        == (date(2026, 11, 1), True, 15)
    assert not settings.contacts_auto and settings.contacts_tag_id == ""  # contacts untouched

    kept = json.loads(ok(data_dir, "sync", "setup", "activities", "--from", "today", "--json"))
    assert kept["activities_from"] == date.today().isoformat()
    assert (kept["activities_auto"], kept["activities_period"]) == (True, 15)  # schedule kept
    manual = json.loads(ok(data_dir, "sync", "setup", "activities", "--from", "2026-12-01",
                           "--manual", "--json"))
    assert (manual["activities_from"], manual["activities_auto"]) == ("2026-12-01", False)


def test_setup_shows_the_settings_and_that_an_account_is_needed(data_dir: Path, user: User,
                                                                 repo: TinyDBRepository) -> None:
    text = ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01", "--every", "1h")
    assert "Activities sync set up:" in text
    assert "2026-11-01" in text and "every 60 minutes" in text
    assert "crmtui account link google" in text  # allowed before linking; says what is missing
    manual = ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01", "--manual")
    assert "manual (run `crmtui sync activities`)" in manual


def test_setup_names_the_linked_account(data_dir: Path, user: User, account: Account) -> None:
    text = ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01")
    assert account.email in text and "crmtui account link" not in text
    saved = json.loads(ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01",
                          "--json"))
    assert saved["google_account"] == account.email


@pytest.mark.parametrize("bad", ["2026-13-01", "01/11/2026", "yesterday", "2026-11-01T10:00", ""])
def test_setup_refuses_a_bad_date(data_dir: Path, user: User, bad: str) -> None:
    message = fails(data_dir, "sync", "setup", "activities", "--from", bad, code=2)
    assert "--from" in message and "YYYY-MM-DD" in message and "today" in message
    assert settings_of(data_dir, user).activities_from is None


def test_setup_needs_from_and_takes_every_or_manual_not_both(data_dir: Path, user: User) -> None:
    assert "--from" in fails(data_dir, "sync", "setup", "activities", code=2)
    message = fails(data_dir, "sync", "setup", "activities", "--from", "2026-11-01",
                    "--every", "15m", "--manual", code=2)
    assert "not both" in message
    assert "--every" in fails(data_dir, "sync", "setup", "activities", "--from", "2026-11-01",
                              "--every", "7m", code=2)
    assert settings_of(data_dir, user).activities_from is None


# --------------------------------------------------------------------------- sync activities


def test_sync_activities_without_an_account_says_how_to_link(data_dir: Path, user: User,
                                                             repo: TinyDBRepository) -> None:
    set_up_activities(repo, user)
    message = fails(data_dir, "sync", "activities")
    assert "no Google account is linked" in message and "crmtui account link google" in message
    assert [r.status for r in repo.list_runs(user.id, SyncKind.ACTIVITIES)] == ["failed"]


def test_sync_activities_not_set_up_says_how(data_dir: Path, user: User, account: Account,
                                            repo: TinyDBRepository) -> None:
    message = fails(data_dir, "sync", "activities")
    assert "crmtui sync setup activities" in message


def test_sync_activities_json_reports_the_failure(data_dir: Path, user: User,
                                                 repo: TinyDBRepository) -> None:
    set_up_activities(repo, user)
    result = crm(data_dir, "sync", "activities", "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert (out["kind"], out["user"], out["status"]) == ("activities", user.email, "failed")
    assert "no Google account" in out["message"] and "no Google account" in result.stderr


@pytest.mark.parametrize("kind", ["contacts", "activities"])
def test_sync_refuses_with_3_while_the_same_sync_runs(data_dir: Path, user: User,
                                                      sync_tag: Tag, account: Account,
                                                      repo: TinyDBRepository, kind: str) -> None:
    set_up_activities(repo, user)
    with FileLock(str(lock_file(data_dir, user, kind))):
        message = fails(data_dir, "sync", kind, code=3)
    assert f"a {kind} sync of this user is already running" in message
    assert repo.list_runs(user.id) == []


@pytest.mark.parametrize("kind", ["contacts", "activities"])
def test_user_option_picks_the_user(data_dir: Path, user: User, bob: User, sync_tag: Tag,
                                    account: Account, repo: TinyDBRepository,
                                    kind: str) -> None:
    """``--user`` overrides the global one: Bob has no account (Ann has); an unknown email is
    an error naming the option."""
    set_up_activities(repo, bob)
    repo.save_sync_settings(repo.get_sync_settings(bob.id).evolve(contacts_tag_id=""))
    message = fails(data_dir, "sync", kind, "--user", "nobody@example.com")
    assert "--user: no user has the email nobody@example.com" in message
    assert "no Google account is linked" in fails(data_dir, "sync", kind, "--user", bob.email)
    assert [r.status for r in repo.list_runs(bob.id, SyncKind(kind))] == ["failed"]
    assert repo.list_runs(user.id) == []


def planning_meeting(repo: TinyDBRepository, user: User) -> Activity:
    """An activity Ann organizes, shown in the calendar, after the "synchronize from" date."""
    return repo.add_activity(Activity(
        title="Planning", start=datetime(2026, 11, 20, 10, tzinfo=UTC),
        end=datetime(2026, 11, 20, 11, tzinfo=UTC), timezone="UTC", organizer_id=user.id,
        owner_id=user.id, show_in_calendar=True))


def test_sync_activities_pushes_and_pulls(data_dir: Path, user: User, account: Account,
                                          repo: TinyDBRepository, emulator: Emulator) -> None:
    set_up_activities(repo, user)
    planning_meeting(repo, user)
    calendar = Calendar(emulator, account.email)

    dry = crm(data_dir, "sync", "activities", "--dry-run")
    assert dry.exit_code == 0, (dry.stdout, dry.stderr)
    assert "Dry run: nothing was written" in dry.stdout and "Planning" in dry.stdout
    assert calendar.live() == [] and repo.list_runs(user.id) == []

    result = crm(data_dir, "sync", "activities")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "In Google Calendar: 1 created" in result.stdout
    assert "crmtui sync: " in result.stderr  # progress on stderr
    assert [e["summary"] for e in calendar.live()] == ["Planning"]

    calendar.create("Review", "2026-11-21T09:00:00+00:00", "2026-11-21T10:00:00+00:00")
    pulled = json.loads(ok(data_dir, "sync", "activities", "--json"))
    assert (pulled["kind"], pulled["status"]) == ("activities", "ok")
    assert pulled["counts"]["crm_created"] == 1
    assert [r.status for r in repo.list_runs(user.id, SyncKind.ACTIVITIES)] == ["ok", "ok"]


def test_every_event_write_states_whom_google_e_mails(data_dir: Path, user: User,
                                                    account: Account, repo: TinyDBRepository,
                                                    emulator: Emulator) -> None:
    set_up_activities(repo, user)
    planning_meeting(repo, user)
    control = EmulatorControl(emulator)

    def writes() -> list[str]:
        return [r["query"] for r in control.requests()["requests"]
                if r["api"] == "calendar" and r["method"] in ("POST", "PATCH", "DELETE")
                and r["batch"] != "outer"]

    ok(data_dir, "sync", "activities")
    assert writes() and all("sendUpdates=none" in q for q in writes())  # by default: nobody
    out = ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01",
             "--send-updates", "external")
    assert "to guests outside your domain only" in out
    assert settings_of(data_dir, user).activities_send_updates == "external"
    control.clear_requests()
    [meeting] = [a for a in repo.find_activities(ActivityQuery()) if a.title == "Planning"]
    repo.update_activity(repo.get_activity(meeting.id).evolve(location="Room 7"))
    ok(data_dir, "sync", "activities")
    assert writes() and all("sendUpdates=externalOnly" in q for q in writes())


def test_activities_sync_with_the_calendar_chosen_by_id(data_dir: Path, user: User,
                                                       account: Account, repo: TinyDBRepository,
                                                       emulator: Emulator) -> None:
    set_up_activities(repo, user)
    planning_meeting(repo, user)
    out = ok(data_dir, "sync", "setup", "activities", "--from", "2026-11-01",
             "--calendar", "team@group.calendar.example")
    assert "the calendar team@group.calendar.example" in out
    assert settings_of(data_dir, user).activities_calendar == "team@group.calendar.example"
    crm(data_dir, "sync", "activities")
    paths = {r["path"] for r in EmulatorControl(emulator).requests()["requests"]
             if r["api"] == "calendar"}
    assert paths and all("/calendars/team@group.calendar.example/" in p or "batch" in p
                         for p in paths), paths


# --------------------------------------------------------------------------- crmtui sync alone


def test_sync_alone_runs_both_kinds(data_dir: Path, user: User, sync_tag: Tag,
                                    account: Account, repo: TinyDBRepository) -> None:
    set_up_activities(repo, user)
    planning_meeting(repo, user)
    out = ok(data_dir, "sync")
    contacts, activities = out.split("Activities:\n")
    assert contacts.startswith("Contacts:\n") and "In Google:" in contacts
    assert "In Google Calendar: 1 created" in activities
    assert [r.status for r in repo.list_runs(user.id)] == ["ok", "ok"]



def test_sync_alone_runs_contacts_and_mentions_activities_not_set_up(
        data_dir: Path, user: User, sync_tag: Tag, account: Account,
        repo: TinyDBRepository) -> None:
    result = crm(data_dir, "sync")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Contacts:" in result.stdout and "Created the Google group 'crmtui'" in result.stdout
    assert [line for line in result.stdout.splitlines() if "Activities" in line] == [
        "Activities: not set up (see `crmtui sync setup activities --help`)."]
    assert [r.status for r in repo.list_runs(user.id, SyncKind.CONTACTS)] == ["ok"]
    assert repo.list_runs(user.id, SyncKind.ACTIVITIES) == []


def test_sync_alone_with_nothing_set_up_runs_nothing(data_dir: Path, user: User) -> None:
    out = ok(data_dir, "sync")
    assert "Contacts: not set up" in out and "Activities: not set up" in out


def test_sync_alone_exits_with_the_worse_status(data_dir: Path, user: User, sync_tag: Tag,
                                                account: Account,
                                                repo: TinyDBRepository) -> None:
    """Contacts run (0), activities refused because another one runs (3): 3."""
    set_up_activities(repo, user)
    with FileLock(str(lock_file(data_dir, user, "activities"))):
        busy = crm(data_dir, "sync")
    assert busy.exit_code == 3, (busy.stdout, busy.stderr)
    assert "In Google:" in busy.stdout and "already running" in busy.stderr
    assert [r.status for r in repo.list_runs(user.id, SyncKind.CONTACTS)] == ["ok"]


def test_a_failed_run_outranks_a_busy_one(data_dir: Path, user: User, sync_tag: Tag,
                                          repo: TinyDBRepository) -> None:
    """No account: contacts fail (1); activities refused, another one runs (3): 1."""
    set_up_activities(repo, user)
    with FileLock(str(lock_file(data_dir, user, "activities"))):
        result = crm(data_dir, "sync")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "no Google account is linked" in result.stderr
    assert "already running" in result.stderr


def test_sync_alone_dry_run_passes_through(data_dir: Path, user: User, sync_tag: Tag,
                                           account: Account, repo: TinyDBRepository) -> None:
    out = ok(data_dir, "sync", "--dry-run")
    assert "Dry run: nothing was written" in out
    assert repo.list_runs(user.id) == []


def test_sync_due_checks_each_kind(data_dir: Path, user: User, sync_tag: Tag,
                                   account: Account, repo: TinyDBRepository) -> None:
    """Contacts manual, activities automatic and never run: only activities run."""
    set_up_activities(repo, user, activities_auto=True, activities_period=15)
    result = crm(data_dir, "sync", "--due")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Contacts: not due yet" in result.stdout
    assert "Activities:\nIn crmtui:" in result.stdout and "In Google Calendar:" in result.stdout
    assert repo.list_runs(user.id, SyncKind.CONTACTS) == []
    assert [r.status for r in repo.list_runs(user.id, SyncKind.ACTIVITIES)] == ["ok"]
    assert "Activities: not due yet" in ok(data_dir, "sync", "--due")  # 15 minutes to go

    repo.save_sync_settings(repo.get_sync_settings(user.id).evolve(activities_auto=False,
                                                                   contacts_auto=True))
    again = crm(data_dir, "sync", "--due")
    assert again.exit_code == 0, (again.stdout, again.stderr)
    assert "Activities: not due yet" in again.stdout and "In Google:" in again.stdout
    assert len(repo.list_runs(user.id, SyncKind.ACTIVITIES)) == 1
    assert [r.status for r in repo.list_runs(user.id, SyncKind.CONTACTS)] == ["ok"]
