"""Watch patterns: validation, the keys they are indexed under, and why a read matches one.

Three match modes. *exact*: the normalised plate. *wildcard*: `?` is one character, `*` any run
(`粤L?23*`); filed under its *mask* (which positions are known, anchored at the start, or at the
end after a `*`) and the known characters; a read is looked up under each mask in use, then the
regex decides.
*fuzzy*: tolerant of recognition confusions (0/D/Q/U, 8/B, 2/Z/7, 5/S, 6/G, 1/T, 4/A) and, unless
strict, of one missing or extra character — in the read, or in what the officer typed: `粤LT246`
(one character short of a plate) is a valid normal fuzzy pattern. Fuzzy reads are found through
confusion-normalised keys (every character folded to its class) and deletion neighbourhoods (a
pattern one character short of a plate also files its insertions), then verified here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from checkpoint.core.errors import InvalidInput
from checkpoint.lpr.alphabet import DIGITS, LETTERS, PROVINCES
from checkpoint.lpr.normalize import is_valid_plate, normalize_plate


class MatchMode(StrEnum):
    exact = "exact"
    wildcard = "wildcard"
    fuzzy = "fuzzy"


class Strictness(StrEnum):
    """How much a fuzzy watch tolerates: confusions allowed, and whether one character may be missing or extra."""

    strict = "strict"  # at most one confusion, same length
    normal = "normal"  # at most two confusions, or one missing/extra character plus one confusion
    loose = "loose"  # at most three confusions plus one missing/extra character


CONFUSION_CLASSES: tuple[str, ...] = ("0DQUO", "8B", "2Z7", "5S", "6G", "1TI", "4A")
_CANON: dict[int, str] = {ord(char): group[0] for group in CONFUSION_CLASSES for char in group}
MAX_CONFUSIONS: dict[Strictness, int] = {Strictness.strict: 1, Strictness.normal: 2, Strictness.loose: 3}
PATTERN_CHARS = set(PROVINCES + DIGITS + LETTERS + "?*" + "警学挂港澳领使应急")
MIN_WILDCARD_LITERALS = 4


def canonical(plate: str) -> str:
    """The plate with every character folded to its confusion class: `粤LB8Z27` and `粤L88227` share one."""
    return plate.translate(_CANON)


def deletions(text: str) -> list[str]:
    """Every string made by deleting one character (the deletion neighbourhood of distance 1)."""
    return [text[:i] + text[i + 1:] for i in range(len(text))]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A validated watch pattern and the index keys it is filed under."""

    mode: MatchMode
    text: str
    strictness: Strictness = Strictness.normal

    def index_keys(self) -> list[str]:
        if self.mode is MatchMode.exact:
            return [f"e:{self.text}"]
        if self.mode is MatchMode.wildcard:
            mask, literals = wildcard_mask(self.text)
            return [f"m{mask}:{literals}"]
        key = canonical(self.text)
        keys = [f"f:{key}"]
        if self.strictness is not Strictness.strict:
            keys += sorted({f"d:{deleted}" for deleted in deletions(key)})
            if not is_valid_plate(self.text):  # typed one short: a full read is one of its insertions
                keys += sorted({f"f:{canonical(longer)}" for longer in insertions(self.text)})
        return keys

    def explain(self, plate: str) -> str | None:
        """Why `plate` matches (for the alert), or None if it does not."""
        if self.mode is MatchMode.exact:
            return "exact" if plate == self.text else None
        if self.mode is MatchMode.wildcard:
            return f"wildcard {self.text}" if wildcard_regex(self.text).fullmatch(plate) else None
        return fuzzy_explain(self.text, plate, self.strictness)


@dataclass(frozen=True, slots=True)
class Mask:
    """A wildcard mask in use: `=` whole plate of this length, `<` the start, `>` the end of a read."""

    name: str  # e.g. "=1101111", "<11011", ">1111"
    positions: tuple[int, ...]  # the known positions, from the start (or from the end for `>`)

    @classmethod
    def parse(cls, name: str) -> Mask:
        bits = name[1:]
        if name[0] == ">":
            return cls(name, tuple(i - len(bits) for i, bit in enumerate(bits) if bit == "1"))
        return cls(name, tuple(i for i, bit in enumerate(bits) if bit == "1"))

    def applies_to(self, size: int) -> bool:
        """Whether a read of `size` characters can match a pattern of this mask."""
        length = len(self.name) - 1
        return size == length if self.name[0] == "=" else size >= length

    def known(self, plate: str) -> str | None:
        """The characters of `plate` at the known positions: what a pattern's literals must equal."""
        return "".join([plate[i] for i in self.positions]) if self.applies_to(len(plate)) else None


def insertions(text: str) -> set[str]:
    """Every string made by inserting one letter or digit after the province character."""
    return {text[:i] + char + text[i:] for i in range(1, len(text) + 1) for char in DIGITS + LETTERS}


def one_off_plate(text: str) -> bool:
    """Whether one character more or one fewer makes `text` a plate (what a normal fuzzy match forgives)."""
    return any(map(is_valid_plate, deletions(text))) or any(map(is_valid_plate, insertions(text)))


PLATE_RULE = ("车牌为省份简称 + 字母 + 5 位字母或数字（新能源 6 位），不含 I、O (a province character, a letter and 5"
              " — 6 for new-energy — letters or digits, without I or O)")


def parse_pattern(mode: MatchMode, text: str, strictness: Strictness = Strictness.normal) -> Pattern:
    """Validate a pattern as typed by an officer; InvalidInput says, in Chinese first, what is wrong with it.

    Exact: a whole plate, taken as typed apart from spaces, separators and letter case. Fuzzy: a plate, or
    (unless strict) a plate with one character missing or extra. Wildcard: see _check_wildcard."""
    raw = text.strip().upper().replace(" ", "").replace("·", "").replace("-", "")
    if not raw:
        raise InvalidInput("请填写车牌或号牌模式 (the plate pattern is empty)")
    strange = sorted({char for char in raw if char not in PATTERN_CHARS})
    if strange:
        raise InvalidInput(f"“{text.strip()}”含有车牌中不会出现的字符：{' '.join(strange)}"
                           f" (the pattern contains characters no plate has)")
    if mode is MatchMode.wildcard:
        return Pattern(mode, _check_wildcard(raw))
    if "?" in raw or "*" in raw:
        raise InvalidInput(f"“?”和“*”是通配符，请选择通配模式 ('?' and '*' are wildcards: choose the wildcard"
                           f" mode, not {mode.value})")
    plate = raw if mode is MatchMode.exact else normalize_plate(raw)
    if is_valid_plate(plate):
        return Pattern(mode, plate, strictness)
    if mode is MatchMode.fuzzy and strictness is not Strictness.strict and one_off_plate(plate):
        return Pattern(mode, plate, strictness)  # one character missing or extra, as the help text promises
    if mode is MatchMode.fuzzy and strictness is Strictness.strict and one_off_plate(plate):
        raise InvalidInput(f"{raw} 比车牌多或少一个字符：“严”容错只容许认错字符，请选“中”或“宽” ({raw} is not a"
                           " valid plate; strict fuzzy allows no missing or extra character: choose normal)")
    raise InvalidInput(f"{raw} 不是有效的车牌：{PLATE_RULE} ({raw} is not a valid plate)")


def _check_wildcard(raw: str) -> str:
    """`?` one character, `*` any run; at least MIN_WILDCARD_LITERALS known characters on one side of `*`."""
    if "?" not in raw and "*" not in raw:
        raise InvalidInput("通配模式需要“?”（一个字符）或“*”（任意个字符），否则请选精确 (a wildcard pattern needs"
                           " '?' (one character) or '*' (any run); otherwise use exact)")
    if "**" in raw:
        raise InvalidInput("“**”与“*”相同，请只写一个 ('**' is the same as '*': write one)")
    literals = sum(1 for char in raw if char not in "?*")
    if literals < MIN_WILDCARD_LITERALS:
        raise InvalidInput(f"范围太宽：通配模式至少需要 {MIN_WILDCARD_LITERALS} 个已知字符，{raw} 只有 {literals} 个"
                           f" (too broad: a wildcard pattern needs at least {MIN_WILDCARD_LITERALS} known characters)")
    if raw[0] not in PROVINCES + "?*":
        raise InvalidInput(f"车牌以省份简称开头（{PROVINCES[:6]}…），不是 {raw[0]} (a plate starts with a province"
                           f" character, not {raw[0]})")
    indexed = wildcard_mask(raw)[1]
    if len(indexed) < MIN_WILDCARD_LITERALS:
        raise InvalidInput(f"范围太宽：{raw} 在“*”之前或之后至少需要 {MIN_WILDCARD_LITERALS} 个已知字符（现有"
                           f" {len(indexed)} 个） (too broad: known characters before or after '*')")
    longest = len(raw) if "*" not in raw else None
    if longest is not None and not 7 <= longest <= 8:
        raise InvalidInput(f"{raw} 代表 {longest} 个字符，车牌是 7 或 8 个字符 ({raw} stands for {longest}"
                           " characters; plates have 7 or 8)")
    return raw


def wildcard_mask(pattern: str) -> tuple[str, str]:
    """(mask name, known characters) the pattern is indexed under; with '*', the better-known side."""
    if "*" not in pattern:
        part, anchor = pattern, "="
    else:
        head, tail = pattern[:pattern.find("*")], pattern[pattern.rfind("*") + 1:]
        head_known, tail_known = len(head) - head.count("?"), len(tail) - tail.count("?")
        part, anchor = (head, "<") if head_known >= tail_known else (tail, ">")
    bits = "".join("0" if char == "?" else "1" for char in part)
    return anchor + bits, "".join(char for char in part if char != "?")


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        body = "".join("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in pattern)
        compiled = _REGEX_CACHE[pattern] = re.compile(body)
    return compiled


def _confusions(watched: str, read: str) -> list[str] | None:
    """The confused positions of two equal-length strings, or None if one differs beyond a confusion."""
    found: list[str] = []
    for index, (want, got) in enumerate(zip(watched, read, strict=True)):
        if want != got:
            if canonical(want) != canonical(got):
                return None
            found.append(f"{want}→{got}@{index + 1}")
    return found


def fuzzy_explain(watched: str, read: str, strictness: Strictness) -> str | None:
    """'confusion 8→B@5' / 'missing 5@7' style reason, or None if the read is too far from the watch."""
    limit = MAX_CONFUSIONS[strictness]
    if len(read) == len(watched):
        found = _confusions(watched, read)
        if found is None or len(found) > limit:
            return None
        return "fuzzy exact" if not found else "confusion " + ", ".join(found)
    if strictness is Strictness.strict or abs(len(read) - len(watched)) != 1:
        return None
    indel_limit = 1 if strictness is Strictness.normal else limit
    longer, shorter, what = (watched, read, "missing") if len(watched) > len(read) else (read, watched, "extra")
    best: tuple[int, list[str]] | None = None
    for index in range(len(longer)):
        found = _confusions(longer[:index] + longer[index + 1:], shorter)
        if found is not None and len(found) <= indel_limit and (best is None or len(found) < len(best[1])):
            best = (index, found)
    if best is None:
        return None
    index, found = best
    return " + ".join([f"{what} {longer[index]}@{index + 1}"] + (["confusion " + ", ".join(found)] if found else []))
