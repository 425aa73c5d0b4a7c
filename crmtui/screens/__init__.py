"""The screens of crmtui's terminal UI."""

from crmtui.screens.contact_detail import ContactDetailScreen
from crmtui.screens.contacts import ContactsScreen
from crmtui.screens.keys import KeysScreen

__all__ = ["ContactDetailScreen", "ContactsScreen", "KeysScreen"]
