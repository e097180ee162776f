"""Headless workbook I/O: read .xlsx/.xlsm sheets fast and faithfully, append the Log row.

- :mod:`.reader` — :class:`~.reader.XlsxBook`: sheet names and whole sheets (python-calamine,
  plus :mod:`.errorcells` for error cells and :mod:`.datecells` for date kinds);
- :mod:`.logbook` — :func:`~.logbook.append_log_row`, :func:`~.logbook.write_task_results`
  (rows edited by :mod:`.sheetrows`; :func:`~.writable.check_writable` refuses open files);
- :mod:`.package` (OPC navigation), :mod:`.cells` (cell XML), :mod:`.newsheet` (adding a
  sheet), :mod:`.rezip` (raw-copy zip rewrite), :mod:`.atomic` (temp file + os.replace).
"""
