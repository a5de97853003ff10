"""The people of the review tests: one per role."""

from core.auth.roles import Actor, Role

VIEWER = Actor("vera", Role.VIEWER, ip="10.0.0.5")
OPERATOR = Actor("otto", Role.OPERATOR, ip="10.0.0.6")
ADMIN = Actor("ada", Role.ADMIN, ip="10.0.0.7")
