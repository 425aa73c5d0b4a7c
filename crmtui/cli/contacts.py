"""``crmtui contacts``: add, list, show, edit, delete, tag and untag contacts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import click

from crmtui.cli.output import (
    Decorator,
    compose,
    emit_json,
    fail,
    json_option,
    option_errors,
    plural,
    print_fields,
    print_table,
    short,
    shown_time,
)
from crmtui.cli.root import cli
from crmtui.cli.session import (
    Session,
    confirm_delete,
    pass_session,
    resolve_contact,
    resolve_contacts,
    resolve_tag,
)
from crmtui.model import (
    ADDRESS_TYPES,
    EMAIL_TYPES,
    PHONE_TYPES,
    Address,
    Contact,
    Email,
    Phone,
    Tag,
    TagKind,
    ValidationError,
)
from crmtui.store import CONTACT_SORTS, ChangedMeanwhile, ContactQuery, NotFound, Repository

# (option, model field, help) of a contact's single-valued fields.
CONTACT_FIELDS = (
    ("given", "given_name", "Given (first) name."),
    ("middle", "middle_name", "Middle name."),
    ("family", "family_name", "Family (last) name."),
    ("company", "company", "Company."),
    ("title", "job_title", "Job title."),
    ("birthday", "birthday", "Birthday, YYYY-MM-DD."),
    ("notes", "notes", "Notes (free text)."),
)
CONTACT_OPTIONS = {name: f"--{opt}" for opt, name, _ in CONTACT_FIELDS}
CONTACT_FIELD_OF = {opt: name for opt, name, _ in CONTACT_FIELDS}
EMAIL_HELP = f"[TYPE:]ADDRESS, TYPE one of {', '.join(EMAIL_TYPES)} (default {EMAIL_TYPES[0]})."
PHONE_HELP = f"[TYPE:]NUMBER, TYPE one of {', '.join(PHONE_TYPES)} (default {PHONE_TYPES[0]})."
ADDRESS_HELP = (f"'[TYPE:]street|city|region|postal code|country', TYPE one of "
                f"{', '.join(ADDRESS_TYPES)}; trailing parts may be left out.")

Typed = TypeVar("Typed", Email, Phone, Address)


def split_type(option: str, text: str, types: Sequence[str]) -> tuple[str, str]:
    """``home:ann@example.com`` -> ("home", "ann@example.com"); no type -> the first of types."""
    head, sep, rest = text.partition(":")
    if sep and head.strip().isalpha():
        kind = head.strip().lower()
        if kind not in types:
            raise ValidationError(option, f"the type must be one of {', '.join(types)}", head)
        return kind, rest.strip()
    return types[0], text.strip()


def parse_email(option: str, text: str, primary: bool = False) -> Email:
    kind, value = split_type(option, text, EMAIL_TYPES)
    with option_errors(option):
        return Email(value, kind, primary)


def parse_phone(option: str, text: str, primary: bool = False) -> Phone:
    kind, value = split_type(option, text, PHONE_TYPES)
    with option_errors(option):
        return Phone(value, kind, primary)


def parse_address(option: str, text: str, primary: bool = False) -> Address:
    kind, value = split_type(option, text, ADDRESS_TYPES)
    parts = [p.strip() for p in value.split("|")]
    if len(parts) > 5:
        raise ValidationError(option, "has more than 5 parts (street|city|region|postal code|"
                              "country)", text)
    street, city, region, postal_code, country = parts + [""] * (5 - len(parts))
    with option_errors(option):
        return Address(kind, street, city, region, postal_code, country, primary)


def with_primary(items: list[Typed]) -> list[Typed]:
    """Mark the first item primary when none is."""
    if items and not any(item.primary for item in items):
        items[0] = replace(items[0], primary=True)
    return items


def contact_field_options(clearable: bool) -> Decorator:
    decorators: list[Decorator] = []
    for opt, _, help_text in CONTACT_FIELDS:
        decorators.append(click.option(f"--{opt}", metavar="TEXT" if opt != "birthday" else "DATE",
                                       help=help_text))
        if clearable:
            decorators.append(click.option(f"--clear-{opt}", is_flag=True,
                                           help=f"Clear the {opt} field."))
    return compose(*decorators)


@cli.group()
def contacts() -> None:
    """Contacts: add, list, show, edit, delete, tag and untag."""


def contact_labels(repo: Repository, contact_ids: Sequence[str], viewer_id: str) -> list[str]:
    return [f"{c.display_name} ({short(c.id)})"
            for c in repo.get_contacts(contact_ids, viewer_id)]


def tag_names(repo: Repository, viewer_id: str) -> dict[str, Tag]:
    return {t.id: t for t in repo.list_tags(viewer_id)}


@contacts.command("add")
@contact_field_options(clearable=False)
@click.option("--email", "emails", multiple=True, help=EMAIL_HELP + " Repeatable; the first is "
              "primary.")
@click.option("--phone", "phones", multiple=True, help=PHONE_HELP + " Repeatable; the first is "
              "primary.")
@click.option("--address", "addresses", multiple=True, help=ADDRESS_HELP + " Repeatable.")
@click.option("--tag", "tag_list", multiple=True, metavar="NAME",
              help="A tag you can see, by name. Repeatable.")
@json_option
@pass_session
def contacts_add(session: Session, emails: tuple[str, ...], phones: tuple[str, ...],
                 addresses: tuple[str, ...], tag_list: tuple[str, ...], as_json: bool,
                 **fields: str | None) -> None:
    """Add a contact owned by the current user.

    It needs at least a name, a company or an email.
    """
    user = session.user()
    values: dict[str, Any] = {CONTACT_FIELD_OF[opt]: value
                              for opt, value in fields.items() if value is not None}
    values["emails"] = [parse_email("--email", t, i == 0) for i, t in enumerate(emails)]
    values["phones"] = [parse_phone("--phone", t, i == 0) for i, t in enumerate(phones)]
    values["addresses"] = [parse_address("--address", t, i == 0) for i, t in enumerate(addresses)]
    values["tags"] = [resolve_tag(session.repo, name, user.id).id for name in tag_list]
    with option_errors({**CONTACT_OPTIONS, "emails": "--email"}):
        contact = Contact(owner_id=user.id, **values)
    session.repo.add_contact(contact)
    if as_json:
        emit_json(contact.to_dict())
    else:
        click.echo(f"Added the contact {contact.display_name} (id {short(contact.id)}).")


@contacts.command("list")
@click.option("--search", default="", metavar="TEXT",
              help="Every word must occur in the name, company, an email or a phone "
                   "(case and accents ignored).")
@click.option("--tag", "tag_list", multiple=True, metavar="NAME",
              help="Only contacts with this tag. Repeatable: all of them.")
@click.option("--tag-kind", type=click.Choice([k.value for k in TagKind]),
              help="Only contacts with at least one tag of this kind.")
@click.option("--sort", type=click.Choice(CONTACT_SORTS), default="name", show_default=True,
              help="Sort column.")
@click.option("--desc", is_flag=True, help="Sort in descending order.")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip this many first.")
@json_option
@pass_session
def contacts_list(session: Session, search: str, tag_list: tuple[str, ...], tag_kind: str | None,
                  sort: str, desc: bool, limit: int | None, offset: int, as_json: bool) -> None:
    """List contacts: search, filter by tags, sort and page."""
    repo, viewer = session.repo, session.user().id
    query = ContactQuery(text=search,
                         tag_ids=tuple(resolve_tag(repo, n, viewer).id for n in tag_list),
                         tag_kind=TagKind(tag_kind) if tag_kind else None,
                         sort=sort, descending=desc, offset=offset, limit=limit)
    if as_json:
        # Written as the contacts are read, a batch at a time (the same text as emit_json).
        from crmtui.formats.common import write_json_array  # (the formats load icalendar)

        write_json_array(_Echo(), (c.to_dict() for c in repo.stream_contacts(query, viewer)))
        click.echo()
        return
    found = repo.find_contacts(query, viewer)
    if not found:
        click.echo("No contacts.")
        return
    names = tag_names(repo, viewer)
    print_table(["NAME", "COMPANY", "EMAIL", "PHONE", "TAGS", "ID"],
                [[c.display_name, c.company, c.primary_email, c.primary_phone,
                  ", ".join(names[t].name for t in c.tags if t in names), short(c.id)]
                 for c in found])


class _Echo:
    """Standard output for :func:`write_json_array`, through click (as every command writes)."""

    def write(self, text: str, /) -> None:
        click.echo(text, nl=False)


def typed_line(value: str, kind: str, primary: bool) -> str:
    return f"{value} ({kind}{', primary' if primary else ''})"


@contacts.command("show")
@click.argument("contact_id", metavar="ID")
@json_option
@pass_session
def contacts_show(session: Session, contact_id: str, as_json: bool) -> None:
    """Show every field of a contact."""
    repo, viewer = session.repo, session.user().id
    contact = repo.get_contact(resolve_contact(repo, contact_id, viewer), viewer)
    if as_json:
        emit_json(contact.to_dict())
        return
    names = tag_names(repo, viewer)
    try:
        owner = repo.get_user(contact.owner_id).name if contact.owner_id else ""
    except NotFound:
        owner = contact.owner_id
    print_fields(contact.display_name, [
        ("id", contact.id),
        ("given name", contact.given_name),
        ("middle name", contact.middle_name),
        ("family name", contact.family_name),
        ("company", contact.company),
        ("job title", contact.job_title),
        ("emails", "\n".join(typed_line(e.value, e.type, e.primary) for e in contact.emails)),
        ("phones", "\n".join(typed_line(p.value, p.type, p.primary) for p in contact.phones)),
        ("addresses", "\n".join(typed_line(a.one_line(), a.type, a.primary)
                                for a in contact.addresses)),
        ("birthday", contact.birthday.isoformat() if contact.birthday else ""),
        ("tags", ", ".join(f"{names[t].name} ({names[t].kind.value})"
                           for t in contact.tags if t in names)),
        ("owner", owner),
        ("created", shown_time(contact.created)),
        ("modified", shown_time(contact.modified)),
        ("notes", contact.notes),
    ])


def edit_values(current: Sequence[Typed], add: Sequence[str], remove: Sequence[str],
                parse: Callable[[str, str], Typed], same: Callable[[Typed, str], bool],
                noun: str) -> list[Typed]:
    """``current`` without the ``remove``d values and with the ``add``ed ones."""
    items = list(current)
    for text in remove:
        kept = [item for item in items if not same(item, text)]
        if len(kept) == len(items):
            fail(f"--remove-{noun}: the contact has no {noun} {text!r}")
        items = kept
    items += [parse(f"--add-{noun}", text) for text in add]
    return with_primary(items)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@contacts.command("edit")
@click.argument("contact_id", metavar="ID")
@contact_field_options(clearable=True)
@click.option("--add-email", multiple=True, help=EMAIL_HELP + " Repeatable.")
@click.option("--remove-email", multiple=True, metavar="ADDRESS", help="Repeatable.")
@click.option("--add-phone", multiple=True, help=PHONE_HELP + " Repeatable.")
@click.option("--remove-phone", multiple=True, metavar="NUMBER",
              help="Repeatable; digits are compared.")
@click.option("--add-address", multiple=True, help=ADDRESS_HELP + " Repeatable.")
@click.option("--clear-addresses", is_flag=True, help="Remove every address.")
@json_option
@pass_session
def contacts_edit(session: Session, contact_id: str, add_email: tuple[str, ...],
                  remove_email: tuple[str, ...], add_phone: tuple[str, ...],
                  remove_phone: tuple[str, ...], add_address: tuple[str, ...],
                  clear_addresses: bool, as_json: bool, **fields: Any) -> None:
    """Change a contact: only the fields given change."""
    repo, viewer = session.repo, session.user().id
    contact = repo.get_contact(resolve_contact(repo, contact_id, viewer), viewer)
    changes: dict[str, Any] = {}
    for opt, name, _ in CONTACT_FIELDS:
        value, clear = fields[opt], fields[f"clear_{opt}"]
        if value is not None and clear:
            raise click.UsageError(f"give --{opt} or --clear-{opt}, not both")
        if value is not None or clear:
            changes[name] = value if value is not None else (None if name == "birthday" else "")
    if add_email or remove_email:
        changes["emails"] = edit_values(
            contact.emails, add_email, remove_email, parse_email,
            lambda e, text: e.value.casefold() == text.strip().casefold(), "email")
    if add_phone or remove_phone:
        changes["phones"] = edit_values(
            contact.phones, add_phone, remove_phone, parse_phone,
            lambda p, text: _digits(p.value) == _digits(text), "phone")
    if add_address or clear_addresses:
        kept = [] if clear_addresses else list(contact.addresses)
        changes["addresses"] = with_primary(
            kept + [parse_address("--add-address", t) for t in add_address])
    if not changes:
        raise click.UsageError("nothing to change: give at least one option "
                               "(see `crmtui contacts edit --help`)")
    with option_errors({**CONTACT_OPTIONS, "emails": "--add-email"}):
        updated = contact.evolve(**changes)
    try:
        updated = repo.update_contact(updated, viewer, expected=contact.modified)
    except ChangedMeanwhile as exc:
        fail(f"not saved: the contact was {exc} while this command ran; run it again to "
             "apply your change to their version")
    updated = repo.get_contact(updated.id, viewer)
    if as_json:
        emit_json(updated.to_dict())
    else:
        click.echo(f"Updated the contact {updated.display_name} (id {short(updated.id)}).")


@contacts.command("delete")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_session
def contacts_delete(session: Session, contact_ids: tuple[str, ...], yes: bool,
                    as_json: bool) -> None:
    """Delete contacts (they are also taken out of their activities)."""
    repo, viewer = session.repo, session.user().id
    ids = resolve_contacts(repo, contact_ids, viewer)
    confirm_delete(plural(len(ids), "contacts"), contact_labels(repo, ids, viewer), yes)
    with repo.transaction():
        for cid in ids:
            repo.delete_contact(cid)
    if as_json:
        emit_json({"deleted": ids})
    else:
        click.echo(f"Deleted {plural(len(ids), 'contacts')}.")


def _tagging(session: Session, contact_ids: Sequence[str], tag_list: Sequence[str],
             as_json: bool, remove: bool) -> None:
    repo, viewer = session.repo, session.user().id
    ids = resolve_contacts(repo, contact_ids, viewer)
    chosen = [resolve_tag(repo, name, viewer) for name in tag_list]
    changed: dict[str, int] = {}
    with repo.transaction():
        for tag in chosen:
            changed[tag.name] = repo.tag_contacts(ids, tag.id, viewer, remove=remove)
    if as_json:
        emit_json({"contacts": ids, "changed": changed})
        return
    for name, count in changed.items():
        if remove:
            click.echo(f"Removed the tag {name!r} from {count} of {plural(len(ids), 'contacts')}.")
        else:
            click.echo(f"Tagged {count} of {plural(len(ids), 'contacts')} with {name!r}.")


@contacts.command("tag")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--tag", "tag_list", multiple=True, required=True, metavar="NAME",
              help="The tag to add, by name. Repeatable.")
@json_option
@pass_session
def contacts_tag(session: Session, contact_ids: tuple[str, ...], tag_list: tuple[str, ...],
                 as_json: bool) -> None:
    """Add a tag to contacts."""
    _tagging(session, contact_ids, tag_list, as_json, remove=False)


@contacts.command("untag")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--tag", "tag_list", multiple=True, required=True, metavar="NAME",
              help="The tag to remove, by name. Repeatable.")
@json_option
@pass_session
def contacts_untag(session: Session, contact_ids: tuple[str, ...], tag_list: tuple[str, ...],
                   as_json: bool) -> None:
    """Remove a tag from contacts."""
    _tagging(session, contact_ids, tag_list, as_json, remove=True)
