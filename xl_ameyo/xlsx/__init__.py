"""Headless workbook I/O: read .xlsx/.xlsm sheets fast and faithfully, write the Log rows.

The reader: :mod:`.reader` (:class:`~.reader.XlsxBook`), :mod:`.package` (zip, parts, size
limits), :mod:`.formats` (number formats), :mod:`.spelling` (the fast routes' assumptions
proved on the bytes), :mod:`.scans` (error cells, date kinds, extent), :mod:`.arrow_reader` +
:mod:`.celltypes` (fastexcel's typed columns), :mod:`.percell` (python-calamine's values),
:mod:`.sheetxml` (the exact reader), :mod:`.tocolumns`, :mod:`.sharedstrings`,
:mod:`.smallbook`. The writer: :mod:`.logbook` (rows edited by :mod:`.sheetrows`, cell XML
from :mod:`.cells`, new sheets by :mod:`.newsheet`), :mod:`.writable`, :mod:`.rezip`,
:mod:`.atomic`.
"""
