"""The Excel front (docs/excel.md): the ribbon add-in's entry point, the worksheet functions
(UDFs) and the add-in's packaging and installation, all over xlwings.

Nothing here is imported by ``import xl_ameyo``: xlwings is only needed in Excel.

- :mod:`.source` reads a workbook through xlwings into the core's cell values.
- :mod:`.addin` is what the ribbon's "Upload leads" button runs (``xl_ameyo.main``).
- :mod:`.sheets` writes the Log, Issues, Settings and Mapping sheets and the highlights.
- :mod:`.firstrun` guesses the Mapping sheet from the data sheet's headers.
- :mod:`.ui` shows messages, asks for confirmations and sets the status bar.
- one upload per workbook at a time: :mod:`xl_ameyo.booklock`, shared with `xl-ameyo upload`.
- :mod:`.udfs` holds the ``=AMEYO_...`` worksheet functions; :mod:`.ranges` reads their range
  arguments with where they are on the sheet.
- :mod:`.xlam` builds ``xl_ameyo.xlam`` from xlwings' ribbon add-in template, with the
  functions' VBA wrappers (:mod:`.wrappers`, xlwings' own generator) written into its VBA
  project (:mod:`.vbaproject`).
- :mod:`.install` puts it into Excel's startup folder (``xl-ameyo addin install``).
"""
