"""The first click on a workbook without Settings or Mapping: what to put in them.

The guesser itself is :mod:`xl_ameyo.guess` (pure, in the core): ``xl-ameyo init`` uses the
same one, so the ribbon and the command line propose the same Mapping.
"""

from __future__ import annotations

from xl_ameyo.guess import guess_mapping, header_key

__all__ = ["guess_mapping", "header_key"]
