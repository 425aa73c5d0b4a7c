"""Two-way synchronization with Google: the engine, the contact and activity rules, the service.

The core (this package, but not ``google/``) is pure and talks to Google only through the small
protocols in :mod:`crmtui.sync.remote`; ``crmtui.sync.google`` implements them with
google-api-python-client.
"""
