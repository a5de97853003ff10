"""Accounts, roles and the audit log: who may do what, checked in the service layer.

Pure of web frameworks: the Flask/Dash layer (``app_auth.py``) turns a cookie or an API token
into an :class:`~core.auth.roles.Actor` and every service that changes something calls
:func:`core.auth.guard.authorize` with it first.
"""
