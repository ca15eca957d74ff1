"""The characters a Chinese plate can hold, and which of them each position accepts."""

from __future__ import annotations

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # GA 36 leaves out I and O
TAIL_MARKS = "警学挂港澳领"  # a single character that ends a 7-character special plate
EMBASSY = "使"
EMERGENCY = "应急"
CIVIL_AVIATION = "民航"  # 民航 airside vehicles: the two characters lead the plate
MILITARY_FIRST = "VKHBSLJNGCEQ"  # first (red) letter of a military plate: the issuing command; never W (WJ: 武警)
ARMED_POLICE_BRANCH = DIGITS + "XBTSHJD"  # last character of a 武警 WJ plate: serial digit or branch

ALPHABET: str = DIGITS + LETTERS + PROVINCES + TAIL_MARKS + EMBASSY + EMERGENCY + CIVIL_AVIATION
"""Every character a plate read can hold; per-character distributions are indexed by it."""
INDEX: dict[str, int] = {char: position for position, char in enumerate(ALPHABET)}

LOOKALIKES: dict[str, str] = {"O": "0", "I": "1", "o": "0", "i": "1", "l": "1", "|": "1"}
"""Characters a generic OCR may output for a plate character that GA 36 spells differently."""

CONFUSED_LETTER_FOR_DIGIT: dict[str, str] = {
    "0": "D",
    "1": "T",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "B",
}
"""Letter most often meant when a letter-only position reads as a digit."""
CONFUSED_DIGIT_FOR_LETTER: dict[str, str] = {
    "D": "0",
    "Q": "0",
    "U": "0",
    "Z": "2",
    "B": "8",
    "S": "5",
    "G": "6",
    "T": "7",
    "A": "4",
}
"""Digit most often meant when a digit-only position reads as a letter."""
