"""The sync tables of the TinyDB repository: settings, state, links and the journal of runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmtui.model import (
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    ValidationError,
    sync_tag_problem,
)
from crmtui.store import repository
from crmtui.store.repository import NotFound, StoreConflict
from crmtui.store.tinydb_base import (
    JOURNAL,
    LINKS,
    SETTINGS,
    STATE,
    TAGS,
    USERS,
    TinyDBBase,
    _doc,
    _stored,
)
from crmtui.store.tinydb_index import _instant


class SyncTables(TinyDBBase):
    """What sync keeps per user: settings, state per kind, linked records, the runs' journal."""

    # -- sync settings ----------------------------------------------------------------------------

    def get_sync_settings(self, user_id: str) -> SyncSettings:
        with self._rlock:
            self._read()
            doc = self._table(SETTINGS).get(user_id)
        return self._record(SyncSettings, SETTINGS, user_id, doc, keyed=False) if doc else SyncSettings(user_id=user_id)

    def save_sync_settings(self, settings: SyncSettings) -> None:
        with self.transaction():
            if settings.user_id not in self._table(USERS):
                raise NotFound(f"no user {settings.user_id}")
            if settings.contacts_tag_id:
                tag = self._table(TAGS).get(settings.contacts_tag_id)
                if tag is None:
                    raise NotFound(f"no tag {settings.contacts_tag_id}")
                problem = sync_tag_problem(Tag.from_dict(_doc(settings.contacts_tag_id, tag)),
                                           settings.user_id)
                if problem:
                    raise ValidationError("contacts_tag_id", problem)
            self._upsert(SETTINGS, settings.user_id, settings.to_dict())

    # -- sync state -------------------------------------------------------------------------------

    def get_sync_state(self, user_id: str, kind: SyncKind) -> dict[str, Any]:
        with self._rlock:
            self._read()
            return dict(self._table(STATE).get(f"{user_id}:{kind.value}", {}))

    def set_sync_state(self, user_id: str, kind: SyncKind, state: dict[str, Any]) -> None:
        with self.transaction():
            doc_id = f"{user_id}:{kind.value}"
            self._table(STATE).pop(doc_id, None)
            self._put_docs(STATE, [(doc_id, dict(state))])

    # -- links ------------------------------------------------------------------------------------

    def _link_index(self) -> dict[tuple[str, str, str], str]:
        if self._remote_links is None:
            self._remote_links = {(d["user_id"], d["kind"], d["remote_id"]): lid
                                  for lid, d in self._table(LINKS).items()}
        return self._remote_links

    def put_link(self, link: SyncLink) -> None:
        with self.transaction():
            doc_id = f"{link.user_id}:{link.kind.value}:{link.local_id}"
            index = self._link_index()
            old = self._table(LINKS).get(doc_id)
            if old is not None:
                index.pop((old["user_id"], old["kind"], old["remote_id"]), None)
            other = index.get((link.user_id, link.kind.value, link.remote_id))
            if other is not None and other != doc_id:
                raise StoreConflict(f"the remote record {link.remote_id} is already linked")
            self._upsert(LINKS, doc_id, link.to_dict())
            index[(link.user_id, link.kind.value, link.remote_id)] = doc_id

    def get_link(self, user_id: str, kind: SyncKind, local_id: str) -> SyncLink | None:
        with self._rlock:
            self._read()
            doc_id = f"{user_id}:{kind.value}:{local_id}"
            doc = self._table(LINKS).get(doc_id)
            return self._record(SyncLink, LINKS, doc_id, doc, keyed=False) if doc else None

    def link_by_remote(self, user_id: str, kind: SyncKind, remote_id: str) -> SyncLink | None:
        with self._rlock:
            self._read()
            doc_id = self._link_index().get((user_id, kind.value, remote_id))
            return (self._record(SyncLink, LINKS, doc_id, self._table(LINKS)[doc_id], keyed=False)
                    if doc_id else None)

    def delete_link(self, user_id: str, kind: SyncKind, local_id: str) -> None:
        with self.transaction():
            doc_id = f"{user_id}:{kind.value}:{local_id}"
            doc = self._table(LINKS).get(doc_id)
            if doc is None:
                return
            self._link_index().pop((doc["user_id"], doc["kind"], doc["remote_id"]), None)
            self._remove(LINKS, [doc_id])

    def list_links(self, user_id: str, kind: SyncKind) -> list[SyncLink]:
        with self._rlock:
            self._read()
            return [self._record(SyncLink, LINKS, i, d, keyed=False)
                    for i, d in self._table(LINKS).items()
                    if d["user_id"] == user_id and d["kind"] == kind.value]

    def link_index(self, user_id: str, kind: SyncKind) -> dict[str, tuple[str, str]]:
        with self._rlock:
            self._read()
            return {d["local_id"]: (d["remote_id"], d.get("etag", ""))
                    for d in self._table(LINKS).values()
                    if d["user_id"] == user_id and d["kind"] == kind.value}

    def get_links(self, user_id: str, kind: SyncKind, local_ids: Iterable[str]
                  ) -> dict[str, SyncLink]:
        with self._rlock:
            self._read()
            table = self._table(LINKS)
            found = {}
            for local_id in local_ids:
                doc_id = f"{user_id}:{kind.value}:{local_id}"
                doc = table.get(doc_id)
                if doc is not None:
                    found[local_id] = self._record(SyncLink, LINKS, doc_id, doc, keyed=False)
            return found

    # -- the journal of runs ----------------------------------------------------------------------

    def add_run(self, run: SyncRun) -> None:
        run = repository.journal_entry(run)
        with self.transaction():
            table = self._table(JOURNAL)
            table.pop(run.id, None)
            self._put_docs(JOURNAL, [(run.id, _stored(run))])
            mine = sorted((_instant(d["started"]), rid) for rid, d in table.items()
                          if d["user_id"] == run.user_id)
            excess = [rid for _, rid in mine[:max(0, len(mine) - repository.JOURNAL_MAX_RUNS)]]
            if excess:
                self._remove(JOURNAL, excess)

    def list_runs(self, user_id: str, kind: SyncKind | None = None,
                  limit: int | None = None) -> list[SyncRun]:
        with self._rlock:
            self._read()
            runs = [self._record(SyncRun, JOURNAL, rid, d) for rid, d in self._table(JOURNAL).items()
                    if d["user_id"] == user_id and (kind is None or d["kind"] == kind.value)]
        runs.sort(key=lambda r: r.started, reverse=True)
        return runs[:limit] if limit is not None else runs
