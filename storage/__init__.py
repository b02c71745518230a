"""Persistence: one aiosqlite connection, numbered SQL migrations, typed repository functions."""
