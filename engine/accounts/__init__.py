"""Who may act: users and roles, bearer tokens for intake systems and API users, and the sign-in lockout."""
