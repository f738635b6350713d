"""The one MetaData of this service's read-model tables (created by its migrations)."""

from sqlalchemy import MetaData

metadata = MetaData()
