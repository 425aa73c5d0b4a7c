"""Undo of the last destructive action while the app runs: a deletion of contacts or of an
activity, a change of tags on contacts.

Before it acts, a screen takes a snapshot (:func:`contacts_deleted`, :func:`tags_changed`,
:func:`activity_deleted`) and, once the action is done, hands it to the app's :class:`UndoLog`
(:func:`record_undo`); ``ctrl+z`` (or ``u``) restores it: the contacts with their tags and their
places in activities, the activity (and its series' occurrences), the tags as they were. Only the
last action is kept; nothing survives the app (the data's own history is the sync's business).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crmtui.model import Activity, Contact, Participant, ParticipantKind
from crmtui.store.repository import ActivityQuery, NotFound, Repository, StoreError


@dataclass
class UndoEntry:
    """What can be undone: ``what`` names the action ("the deletion of 3 contacts");
    ``restore`` puts things back and says what it did."""

    what: str
    restore: Callable[[Repository], str]


class UndoLog:
    """The last undoable action of this run of the app."""

    def __init__(self) -> None:
        self.last: UndoEntry | None = None

    def record(self, entry: UndoEntry) -> None:
        self.last = entry

    def undo(self, repo: Repository) -> tuple[str, bool]:
        """Undo the last action; the message to show and whether anything was restored."""
        entry = self.last
        if entry is None:
            return "Nothing to undo: deletions and tag changes can be undone while crmtui " \
                   "runs.", False
        try:
            with repo.transaction():
                message = entry.restore(repo)
        except StoreError as exc:
            return f"Cannot undo {entry.what}: {exc}", False
        self.last = None
        return message, True


def record_undo(app: object, entry: UndoEntry | None) -> None:
    """Give ``entry`` to the app's undo log (an app without one keeps nothing)."""
    log = getattr(app, "undo_log", None)
    if entry is not None and isinstance(log, UndoLog):
        log.record(entry)


def _plural(n: int, word: str, words: str = "") -> str:
    return f"{n} {word if n == 1 else words or word + 's'}"


def _contacts(repo: Repository, ids: Sequence[str], viewer_id: str | None = None
              ) -> list[Contact]:
    """Those of the contacts ``ids`` still stored (one read when all are)."""
    try:
        return repo.get_contacts(ids, viewer_id)
    except NotFound:
        found = []
        for cid in ids:
            try:
                found.append(repo.get_contact(cid, viewer_id))
            except NotFound:
                continue
        return found


def contacts_deleted(repo: Repository, ids: Sequence[str]) -> UndoEntry:
    """A snapshot of contacts about to be deleted: every field and tag, and the activities
    they take part in."""
    contacts = _contacts(repo, ids)
    wanted = {c.id for c in contacts}
    places: dict[str, list[Participant]] = {}
    if wanted:
        for a in repo.find_activities(ActivityQuery(contact_ids=tuple(wanted))):
            places[a.id] = list(a.participants)

    def restore(store: Repository) -> str:
        present = {c.id for c in _contacts(store, [c.id for c in contacts])}
        back = [c for c in contacts if c.id not in present]
        store.add_contacts(back)
        restored = {c.id for c in back}
        activities = 0
        for aid, before in places.items():
            try:
                now = store.get_activity(aid)
            except NotFound:
                continue
            current = set(now.participants)
            wanted_back = [p for p in before if p.kind is ParticipantKind.CONTACT
                           and p.ref_id in restored and p not in current]
            if not wanted_back:
                continue
            order = [p for p in before if p in current or p in wanted_back]
            order += [p for p in now.participants if p not in order]
            store.update_activity(now.evolve(participants=order))
            activities += 1
        text = f"Restored {_plural(len(back), 'contact')}"
        if activities:
            text += f" and their place in {_plural(activities, 'activity', 'activities')}"
        return text + "."

    return UndoEntry(f"the deletion of {_plural(len(contacts), 'contact')}", restore)


def tags_changed(repo: Repository, ids: Sequence[str], viewer_id: str) -> UndoEntry:
    """A snapshot of the tags (those ``viewer_id`` sees) of contacts about to be re-tagged."""
    before = {c.id: set(c.tags) for c in _contacts(repo, ids, viewer_id)}

    def restore(store: Repository) -> str:
        # One batch per tag: take off the tags added, put back the ones taken off.
        added: dict[str, list[str]] = {}
        removed: dict[str, list[str]] = {}
        for contact in _contacts(store, list(before), viewer_id):
            now, then = set(contact.tags), before[contact.id]
            for tag_id in now - then:
                added.setdefault(tag_id, []).append(contact.id)
            for tag_id in then - now:
                removed.setdefault(tag_id, []).append(contact.id)
        changed: set[str] = set()
        for tag_id, cids in added.items():
            try:
                store.tag_contacts(cids, tag_id, viewer_id, remove=True)
            except NotFound:
                continue  # the tag was deleted meanwhile: it is on nobody any more
            changed.update(cids)
        for tag_id, cids in removed.items():
            try:
                store.tag_contacts(cids, tag_id, viewer_id)
            except NotFound:
                continue  # a deleted tag cannot be put back
            changed.update(cids)
        return f"Restored the tags of {_plural(len(changed), 'contact')}."

    return UndoEntry(f"the tag change on {_plural(len(before), 'contact')}", restore)


def activity_deleted(repo: Repository, activity: Activity) -> UndoEntry:
    """A snapshot of an activity about to be deleted, with the occurrences of its series."""
    occurrences = repo.find_activities(ActivityQuery(series_id=activity.id))

    def restore(store: Repository) -> str:
        kept = []
        for p in activity.participants:  # people deleted meanwhile cannot take part
            try:
                if p.kind is ParticipantKind.CONTACT:
                    store.get_contact(p.ref_id)
                else:
                    store.get_user(p.ref_id)
            except NotFound:
                continue
            kept.append(p)
        store.add_activity(activity.evolve(participants=kept))
        for before in occurrences:  # occurrences again, with the start each replaces
            try:
                occurrence = store.get_activity(before.id)
            except NotFound:
                continue
            if not occurrence.series_id:
                store.update_activity(occurrence.evolve(series_id=activity.id,
                                                        original_start=before.original_start))
        return f"Restored “{activity.title}”."

    return UndoEntry(f"the deletion of “{activity.title}”", restore)
