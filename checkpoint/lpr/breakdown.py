"""Accuracy split by province and by plate type, with the province confusion behind it.

One overall exact rate hid a bias: the dev sets are 96-97.5% 皖, so a recogniser that reads
other provinces as 皖 still scored well. Per-province rows, and which province each wrong
province character was read as, make such a bias visible at a glance.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from checkpoint.lpr.alphabet import PROVINCES

NO_PROVINCE = "-"  # plates that carry no province character (military, 使, 民航 ...)


@dataclass
class Cell:
    """Totals for one province or one plate type."""

    plates: int = 0
    exact: int = 0
    province_right: int = 0
    read_as: Counter[str] = field(default_factory=Counter)  # wrong province characters read

    def add(self, expected: str, read: str, expected_province: str) -> None:
        self.plates += 1
        self.exact += read == expected
        read_province = province_of(read)
        if read_province == expected_province:
            self.province_right += 1
        else:
            self.read_as[read_province or "(none)"] += 1

    def summary(self) -> dict[str, object]:
        plates = max(self.plates, 1)
        return {
            "plates": self.plates,
            "exact": self.exact,
            "exact_accuracy": round(self.exact / plates, 4),
            "province_accuracy": round(self.province_right / plates, 4),
            "read_as": dict(self.read_as.most_common()),
        }


def province_of(text: str) -> str:
    """The plate's province character: the first one of the 31, wherever the layout puts it (WJ粤...)."""
    for char in text[:3]:
        if char in PROVINCES:
            return char
    return NO_PROVINCE if text else ""


@dataclass
class Breakdown:
    """Per-province and per-type cells, filled one scored plate at a time."""

    by_province: dict[str, Cell] = field(default_factory=dict)
    by_type: dict[str, Cell] = field(default_factory=dict)

    def add(self, expected: str, read: str, plate_type: str) -> None:
        province = province_of(expected)
        self.by_province.setdefault(province, Cell()).add(expected, read, province)
        self.by_type.setdefault(plate_type, Cell()).add(expected, read, province)

    def province_accuracy(self) -> float:
        """Province-character accuracy over plates that have one."""
        cells = [cell for key, cell in self.by_province.items() if key != NO_PROVINCE]
        plates = sum(cell.plates for cell in cells)
        return round(sum(cell.province_right for cell in cells) / plates, 4) if plates else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "province_accuracy": self.province_accuracy(),
            "by_province": {key: self.by_province[key].summary() for key in _province_order(self.by_province)},
            "by_type": {key: self.by_type[key].summary() for key in sorted(self.by_type)},
        }


def _province_order(cells: dict[str, Cell]) -> list[str]:
    return sorted(cells, key=lambda key: PROVINCES.find(key) if key in PROVINCES else len(PROVINCES))


def table_lines(title: str, rows: dict[str, dict[str, object]]) -> list[str]:
    """A plain-text table for the CLI: key, plates, exact, province right, wrong provinces read."""
    lines = [title, f"  {'':<18}{'plates':>7}{'exact':>9}{'province':>10}  province read as"]
    for key, row in rows.items():
        read_as = ", ".join(f"{char}×{count}" for char, count in dict(row["read_as"]).items())  # type: ignore[call-overload]
        wide = sum(unicodedata.east_asian_width(char) in "WF" for char in key)  # a Chinese character takes two columns
        lines.append(
            f"  {key:<{18 - wide}}{row['plates']:>7}{float(row['exact_accuracy']):>9.1%}"  # type: ignore[arg-type]
            f"{float(row['province_accuracy']):>10.1%}  {read_as}"  # type: ignore[arg-type]
        )
    return lines
