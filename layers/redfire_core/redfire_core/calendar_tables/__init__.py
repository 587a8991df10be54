"""Exchange session tables (``<CODE>.txt``) written by ``redfire calendars``."""
