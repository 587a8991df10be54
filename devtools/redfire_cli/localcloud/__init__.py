"""The local cloud behind ``redfire dev``: moto plus the pollers Lambda would run.

Every resource comes from ``redfire_core.resources``; nothing here names a table,
queue or rule by hand.
"""
