"""Local storage: the office's SQLite database (SQLModel tables, sessions, repositories)."""
