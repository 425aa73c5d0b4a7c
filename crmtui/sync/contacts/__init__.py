"""Two-way contact sync (DESIGN.md section 3, "Contacts").

Read in this order: :mod:`.mapping` (a contact as the canonical fields both sides merge),
:mod:`.planning` (reading both sides and the status, and :func:`plan_contacts`, which decides
every action) and :mod:`.actions` (what each action does, on both sides). The runner in
:mod:`crmtui.sync.runner` applies the plan.
"""

from crmtui.sync.contacts.actions import ContactRun, LocalContact
from crmtui.sync.contacts.mapping import apply_fields, contact_fields, one_primary
from crmtui.sync.contacts.planning import ContactSync, plan_contacts

__all__ = ["ContactRun", "ContactSync", "LocalContact", "apply_fields", "contact_fields",
           "one_primary", "plan_contacts"]
