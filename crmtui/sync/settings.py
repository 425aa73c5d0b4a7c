"""Setting up a user's sync: the one service the settings screen and ``crmtui sync setup`` call.

Which tag may be the contacts' sync tag is one rule of the domain
(:func:`crmtui.model.sync_tag_problem`: a private tag of the user's own); the store enforces it on
every save, this service applies it to what a person chose and says what is wrong, and a sync run
asks :meth:`SyncSettingsService.sync_tag` for the tag it synchronizes.
"""

from __future__ import annotations

from crmtui.model import SyncSettings, Tag, TagKind, ValidationError, sync_tag_problem
from crmtui.store import NotFound, Repository
from crmtui.sync.engine import SyncSetupError


class SyncSettingsService:
    """Reads and saves one user's sync settings."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def get(self, user_id: str) -> SyncSettings:
        return self.repo.get_sync_settings(user_id)

    def tag_choices(self, user_id: str) -> list[Tag]:
        """The tags that may be the user's sync tag (their own private tags), by name."""
        tags = self.repo.list_tags(user_id, TagKind.PRIVATE)
        return sorted((t for t in tags if not sync_tag_problem(t, user_id)),
                      key=lambda t: t.name.casefold())

    def tag_named(self, user_id: str, name: str) -> Tag:
        """The tag the user calls ``name``, if it may be the sync tag (else ValidationError on
        ``contacts_tag_id`` saying why and what to do)."""
        tag = self.repo.find_tag(name, user_id)
        if tag is None:
            raise ValidationError("contacts_tag_id",
                                  f"there is no tag named {name!r}; create your private one "
                                  f"with `crmtui tags add {name!r}`")
        problem = sync_tag_problem(tag, user_id)
        if problem:
            raise ValidationError("contacts_tag_id",
                                  f"{problem}; create your own with `crmtui tags add NAME`")
        return tag

    def save(self, settings: SyncSettings) -> SyncSettings:
        """Save the settings (ValidationError, on its field, when they break a rule)."""
        self.repo.save_sync_settings(settings)
        return settings

    def sync_tag(self, settings: SyncSettings) -> Tag:
        """The contacts' sync tag a run synchronizes (SyncSetupError saying what to do when
        none is chosen, or it is gone, or it may no longer be one)."""
        user_id = settings.user_id
        if not settings.contacts_tag_id:
            raise SyncSetupError("no sync tag is chosen for contacts: run `crmtui sync setup "
                                 "contacts --tag NAME` (a private tag of yours)")
        try:
            tag = self.repo.get_tag(settings.contacts_tag_id, user_id)
        except NotFound:
            raise SyncSetupError("the contacts' sync tag no longer exists: choose another with "
                                 "`crmtui sync setup contacts --tag NAME`") from None
        problem = sync_tag_problem(tag, user_id)
        if problem:
            raise SyncSetupError(f"{problem}: choose another with `crmtui sync setup contacts "
                                 "--tag NAME`")
        return tag
