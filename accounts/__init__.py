"""Users, roles, login, passwords."""
