"""mapping.py: the Mapping sheet and header matching (SPEC §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xl_ameyo.columns import CellError
from xl_ameyo.errors import MappingError, XlAmeyoError
from xl_ameyo.mapping import (
    PHONE_FIELDS,
    STANDARD_FIELDS,
    MappedColumn,
    resolve_mapping,
)

HEADERS = ["Name", "Mobile", "City", "Alt phone", "E-mail"]
HEAD = ["Ameyo field", "Sheet column"]


def resolve(*rows, headers=HEADERS, **kw):
    return resolve_mapping([HEAD, *map(list, rows)], headers, **kw)


def error(*rows, headers=HEADERS, **kw) -> str:
    with pytest.raises(MappingError) as info:
        resolve(*rows, headers=headers, **kw)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_standard_and_custom_fields():
    m = resolve(
        ["name", "Name"],
        ["phone1", "Mobile"],
        ["phone2", "Alt phone"],
        ["email", "E-mail"],
        ["City", "City"],
    )
    assert list(m.header_mapping) == [*STANDARD_FIELDS, "City"]
    assert m.header_mapping == {
        "name": "Name",
        "phone1": "Mobile",
        "phone2": "Alt phone",
        "phone3": "",
        "phone4": "",
        "phone5": "",
        "email": "E-mail",
        "timezone": "",
        "twitter": "",
        "facebook": "",
        "City": "City",
    }
    assert m.columns == (
        MappedColumn(0, "Name", ("name",)),
        MappedColumn(1, "Mobile", ("phone1",)),
        MappedColumn(2, "City", ("City",)),
        MappedColumn(3, "Alt phone", ("phone2",)),
        MappedColumn(4, "E-mail", ("email",)),
    )
    assert m.phone1 == MappedColumn(1, "Mobile", ("phone1",))
    assert [c.header for c in m.phone_columns] == ["Mobile", "Alt phone"]


def test_only_phone1_mapped():
    m = resolve(["phone1", "Mobile"])
    assert m.header_mapping == {**dict.fromkeys(STANDARD_FIELDS, ""), "phone1": "Mobile"}
    assert [c.index for c in m.columns] == [1]


def test_columns_in_data_sheet_order_not_mapping_order():
    m = resolve(["email", "E-mail"], ["phone1", "Mobile"], ["name", "Name"])
    assert [c.header for c in m.columns] == ["Name", "Mobile", "E-mail"]


def test_header_row_always_skipped():
    # even a first row that looks like a mapping is the header
    m = resolve_mapping([["phone2", "City"], ["phone1", "Mobile"]], HEADERS)
    assert m.header_mapping["phone2"] == ""


def test_standard_fields_case_insensitive_and_trimmed():
    m = resolve([" Phone1 ", "Mobile"], ["NAME", "Name"], ["EMail", "E-mail"])
    assert m.header_mapping["phone1"] == "Mobile"
    assert m.header_mapping["name"] == "Name"
    assert m.header_mapping["email"] == "E-mail"
    assert "NAME" not in m.header_mapping


def test_custom_fields_kept_as_typed_in_mapping_order():
    m = resolve(["phone1", "Mobile"], [" Zone B ", "City"], ["source", None], ["Agent", ""])
    assert list(m.header_mapping)[10:] == ["Zone B", "source", "Agent"]
    assert m.header_mapping["source"] == ""
    assert m.header_mapping["Agent"] == ""
    assert m.header_mapping["Zone B"] == "City"


def test_unmapped_standard_field_listed_with_empty_b():
    m = resolve(["phone1", "Mobile"], ["name", None], ["email", "  "])
    assert m.header_mapping["name"] == "" and m.header_mapping["email"] == ""
    assert len(m.columns) == 1


def test_empty_rows_skipped_and_ragged_rows():
    m = resolve_mapping([HEAD, [], [None, None], ["", "  ", "note"], ["phone1", "Mobile"]], HEADERS)
    assert m.header_mapping["phone1"] == "Mobile"


def test_values_are_sheet_headers_not_mapping_text():
    m = resolve(["phone1", "  mobile "], headers=["Name", "  Mobile  "])
    assert m.header_mapping["phone1"] == "Mobile"
    assert m.phone1.header == "Mobile"


def test_number_headers_and_number_cells():
    m = resolve(["phone1", "Mobile"], ["year", 2024.0], headers=["Mobile", 2024])
    assert m.header_mapping["year"] == "2024"
    assert m.columns[1] == MappedColumn(1, "2024", ("year",))


def test_field_without_column_is_an_error_naming_a():
    text = error(["phone1", "Mobile"], [None, "City"])
    assert text.startswith("Mapping!A3:") and "B3" in text and "City" in text


def test_field_listed_twice_names_both_cells():
    text = error(["phone1", "Mobile"], ["name", "Name"], ["Name", "City"])
    assert text.startswith("Mapping!A4:") and "A3" in text and "'name'" in text


def test_custom_field_listed_twice_any_case():
    text = error(["phone1", "Mobile"], ["City", "City"], ["city", "Name"])
    assert text.startswith("Mapping!A4:") and "A3" in text


def test_phone1_must_be_mapped():
    text = error(["name", "Name"])
    assert "phone1 is not mapped" in text and "Mapping" in text and "column A" in text


def test_phone1_listed_without_column_names_b():
    text = error(["phone1", None], ["name", "Name"])
    assert text.startswith("Mapping!B2:") and "phone1 is not mapped" in text


def test_phone1_lookalike_hint():
    text = error(["Phone 1", "Mobile"])
    assert "A2 says 'Phone 1'" in text and "phone1" in text


def test_actual_sheet_names_in_messages():
    text = error(["phone1", "Mobil No"], mapping_sheet="MAPPING", data_sheet="My leads")
    assert text.startswith("MAPPING!B2:") and "sheet 'My leads'" in text


# --- header matching ---------------------------------------------------------------------------


def test_missing_column_suggests_closest():
    text = error(["phone1", "Mobile No"], headers=["Name", "Mobile no."])
    assert text == (
        "Mapping!B2: column 'Mobile No' is not in sheet 'Leads'. Closest header: "
        "'Mobile no.'. Fix the header or the mapping"
    )


def test_missing_column_without_close_match_lists_headers():
    text = error(["phone1", "Telephone"], headers=["Name", "Mobile"])
    assert "Mapping!B2" in text and "'Name', 'Mobile'" in text


def test_missing_column_with_no_headers():
    text = error(["phone1", "Mobile"], headers=[])
    assert "Mapping!B2" in text and "no headers" in text


def test_exact_match_wins_over_case_insensitive():
    m = resolve(["phone1", "Phone"], ["phone2", "PHONE"], headers=["PHONE", "Phone", "phone"])
    assert m.phone1.index == 1
    assert m.header_mapping["phone2"] == "PHONE"


def test_case_insensitive_match_after_trimming():
    m = resolve(["phone1", " MOBILE "], headers=["name", " mobile"])
    assert m.header_mapping["phone1"] == "mobile"
    assert m.phone1.index == 1


def test_duplicate_header_names_columns():
    text = error(["phone1", "Phone"], headers=["Name", "x", "Phone", "y", "z", "Phone "])
    assert text.startswith("Mapping!B2:")
    assert "header 'Phone' appears 2 times in sheet 'Leads' (columns C, F)" in text
    assert "Rename one" in text


def test_ambiguous_case_insensitive_match_names_columns():
    text = error(["phone1", "phone"], headers=["Name", "Phone", "PHONE"])
    assert text.startswith("Mapping!B2:")
    assert "'Phone' (B)" in text and "'PHONE' (C)" in text


def test_duplicate_unmapped_headers_are_fine():
    m = resolve(["phone1", "Mobile"], headers=["x", "Mobile", "x", None, "", "x"])
    assert m.phone1.index == 1


def test_error_and_empty_headers_never_match():
    text = error(["phone1", "#N/A"], headers=[CellError("#N/A"), "Mobile"])
    assert "is not in sheet" in text


def test_two_fields_on_one_column_sent_once():
    m = resolve(["phone1", "Mobile"], ["name", "Mobile"], ["phone2", "mobile"])
    assert len(m.columns) == 1
    col = m.columns[0]
    assert col.fields == ("phone1", "name", "phone2")
    assert col.phone_field == "phone1"
    assert m.header_mapping["name"] == m.header_mapping["phone1"] == "Mobile"
    assert m.phone_columns == (col,)


def test_phone_field_property():
    assert MappedColumn(0, "x", ("name",)).phone_field is None
    assert MappedColumn(0, "x", ("name", "phone3")).phone_field == "phone3"
    assert MappedColumn(0, "x", ("phone3", "phone1")).phone_field == "phone1"
    assert MappedColumn(27, "x", ("name",)).letter == "AB"
    assert PHONE_FIELDS == ("phone1", "phone2", "phone3", "phone4", "phone5")


def test_error_cells_in_mapping_name_the_cell():
    assert error(["phone1", CellError("#REF!")]).startswith("Mapping!B2:")
    assert error([CellError("#N/A"), "Mobile"]).startswith("Mapping!A2:")


# --- junk never escapes as anything but our errors -------------------------------------------

cells = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from([*STANDARD_FIELDS, "Phone1", "Mobile", "mobile", "City", " Name "]),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(),
    st.dates(),
    st.builds(CellError, st.sampled_from(["#N/A", "#REF!"])),
)


@given(
    st.lists(st.lists(cells, max_size=3), max_size=10),
    st.lists(cells, max_size=8),
)
def test_junk_raises_only_mapping_errors(rows, headers):
    try:
        m = resolve_mapping(rows, headers)
    except XlAmeyoError as exc:
        assert isinstance(exc, MappingError)
        assert "\n" not in str(exc)
        return
    assert list(m.header_mapping)[:10] == list(STANDARD_FIELDS)
    assert m.header_mapping["phone1"]
    assert [c.index for c in m.columns] == sorted({c.index for c in m.columns})
    for c in m.columns:
        for f in c.fields:
            assert m.header_mapping[f] == c.header


@pytest.mark.parametrize("row", [["name", "Na\ud83dme"], ["Zone\udfff", "Name"]])
def test_names_with_a_lone_surrogate_name_their_cell(row):
    headers = ["Na\ud83dme", "Name", "Mobile"]
    with pytest.raises(MappingError) as info:
        resolve_mapping([["Ameyo field", "Sheet column"], ["phone1", "Mobile"], row], headers)
    letter = "B" if row[0] == "name" else "A"
    assert info.value.where == f"Mapping!{letter}3"
    assert "holds a broken character" in str(info.value)


def test_a_header_with_a_byte_order_mark_is_the_header_it_looks_like():
    # SPEC §3: a CSV saved again by Excel leaves U+FEFF before the first header
    m = resolve_mapping([["Ameyo field", "Sheet column"], ["phone1", "Mobile"], ["name", "Name"]],
                        ["\ufeffName", " \ufeff Mobile "])
    assert m.header_mapping["name"] == "Name"
    assert m.header_mapping["phone1"] == "Mobile"
    assert [c.header for c in m.columns] == ["Name", "Mobile"]
