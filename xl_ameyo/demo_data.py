"""Realistic demo leads, including the traps analysts' sheets really contain.

Deterministic (seeded), so the demo prints the same story every time: Indian and international
names and numbers; phones typed as numbers (Excel stores them as floats), with spaces, dashes,
parentheses and ``+``, as text with leading zeros; a few invalid rows (an error cell, a phone
too short, a 16-digit phone Excel already rounded, an empty phone) and duplicates.
"""

from __future__ import annotations

import datetime as dt
import random

FIRST_NAMES = (
    "Aarav", "Vivaan", "Aditya", "Vihaan", "Arjun", "Sai", "Reyansh", "Krishna", "Ishaan",
    "Ananya", "Diya", "Aadhya", "Saanvi", "Priya", "Kavya", "Meera", "Lakshmi", "Fatima",
    "Rohan", "Karthik", "Harpreet", "Gurpreet", "Sneha", "Pooja", "Rahul", "Deepa", "Imran",
    "Olivia", "Liam", "Sofia", "Mateo", "Chen", "Yuki", "Amara", "Kwame", "Elif", "Noah",
)
LAST_NAMES = (
    "Sharma", "Verma", "Iyer", "Nair", "Reddy", "Patel", "Shah", "Gupta", "Singh", "Khan",
    "Das", "Mukherjee", "Banerjee", "Menon", "Pillai", "Rao", "Joshi", "Kulkarni", "D'Souza",
    "Fernandes", "Smith", "García", "Müller", "Wang", "Tanaka", "Okafor", "Yılmaz", "O'Brien",
)
CITIES = (
    "Mumbai", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Hyderabad", "Pune", "Ahmedabad",
    "Jaipur", "Kochi", "London", "Dubai", "Singapore", "New York, NY",
)
HEADERS = ("Customer Name", "Mobile", "Alternate Phone", "E-mail", "City", "Due Date", "Amount")


def _indian_mobile(rng: random.Random) -> str:
    return str(rng.choice("6789")) + "".join(rng.choice("0123456789") for _ in range(9))


def _phone_cell(rng: random.Random, digits: str) -> object:
    """The same number the way different people type it into Excel."""
    style = rng.random()
    if style < 0.35:
        return float(digits)  # typed as a number: Excel keeps a float
    if style < 0.55:
        return f"+91 {digits[:5]} {digits[5:]}"
    if style < 0.70:
        return f"0{digits}"  # text with a trunk-prefix zero
    if style < 0.80:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return digits


def _international(rng: random.Random) -> str:
    return rng.choice(
        (
            f"+44 20 {rng.randint(7000, 7999)} {rng.randint(1000, 9999)}",
            f"+1 (415) 555-{rng.randint(1000, 9999)}",
            f"+971 50 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            f"+65 {rng.randint(8000, 9999)} {rng.randint(1000, 9999)}",
        )
    )


def demo_leads(count: int = 1000, seed: int = 2026) -> list[list[object]]:
    """``count`` data rows (without the header row) in the order of :data:`HEADERS`."""
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        international = rng.random() < 0.08
        mobile = _international(rng) if international else _phone_cell(rng, _indian_mobile(rng))
        alternate = _phone_cell(rng, _indian_mobile(rng)) if rng.random() < 0.3 else None
        email = f"{first.lower()}.{last.lower().replace(chr(39), '')}{i}@example.com"
        if rng.random() < 0.1:
            email = f"  {email.upper()}  "  # stray spaces: trimmed on the way out
        due = dt.date(2026, 12, 1) + dt.timedelta(days=rng.randint(0, 90))
        amount = round(rng.uniform(500, 250000), rng.choice((0, 2)))
        name = f"{first} {last}"
        rows.append([name, mobile, alternate, email, rng.choice(CITIES), due, amount])

    # Traps and mistakes, at fixed places so the demo tells the same story every time.
    rows[10][1] = "#N/A"  # a failed VLOOKUP: an error cell
    rows[25][1] = "12345"  # too short to be a phone number
    rows[40][1] = 1234567890123456.0  # 16 digits typed as a number: Excel already rounded it
    rows[55][1] = None  # no phone at all
    rows[70][1] = "call after 6pm"  # a note where the number should be
    rows[85][2] = "n/a"  # a bad alternate number
    for src, dup in ((3, 120), (7, 240), (15, 360), (31, 480)):
        rows[dup][1] = rows[src][1]  # the same lead entered twice
    rows[130][1] = "98765 4321"  # 9 digits: passes our check, rejected by a 10-digit dialer
    rows[131][1] = "8765432"  # 7 digits: the same
    rows[150][0] = 'Ravi "Ricky" Kumar, Jr.'  # quotes and a comma survive the CSV
    rows[151][0] = "Anjali\nMehta"  # an in-cell line break
    return rows
