"""Who may act: users and roles, bearer tokens for intake systems and API users, and the sign-in lockout."""

from engine.accounts import tokens as _tokens  # noqa: F401  every process that revokes a token announces it
