"""The README's command table matches the real command line (docs checked by tests)."""

from __future__ import annotations

import re
from pathlib import Path

from xl_ameyo.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _table_rows() -> dict[str, str]:
    """`xl-ameyo NAME ...` rows of the README's command table -> their usage text."""
    rows = {}
    for line in README.splitlines():
        match = re.match(r"\| `xl-ameyo ([a-z]+)([^`]*)`", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_command_is_in_the_readme_table():
    documented = set(_table_rows()) | {"logout"}  # logout shares login's row
    assert documented == set(cli.commands)


def test_every_documented_option_exists():
    for name, usage in _table_rows().items():
        command = cli.commands[name]
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for option in re.findall(r"--[a-z][a-z-]*", usage):
            assert option in options, f"README documents {option} for xl-ameyo {name}"


def test_every_upload_option_is_documented():
    usage = _table_rows()["upload"]
    for param in cli.commands["upload"].params:
        if param.param_type_name == "option":
            assert any(opt in usage for opt in param.opts), f"{param.opts} not in README"


def test_quick_start_is_the_two_make_targets():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, re.M)
