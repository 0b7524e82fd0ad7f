"""Temporal activities: the only code that touches the database, the clock's calendars and mail."""
