"""xl_ameyo: upload lead lists kept in Excel to an Ameyo contact center."""

__version__ = "0.1.0"
