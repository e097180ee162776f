"""xl_ameyo: upload lead lists kept in Excel to an Ameyo contact center."""

__version__ = "0.1.0"


def main() -> None:
    """The Excel add-in's entry point (the ribbon's "Upload leads" button runs
    ``import xl_ameyo;xl_ameyo.main()``). Imported lazily: ``import xl_ameyo`` stays light and
    needs no xlwings."""
    from xl_ameyo.excel.addin import main as run

    run()
