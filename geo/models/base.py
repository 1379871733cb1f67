"""The metadata every table belongs to, and the column type of every time."""

from sqlalchemy import DateTime, MetaData

TZ = DateTime(timezone=True)  # every time is a timestamptz
metadata = MetaData()
