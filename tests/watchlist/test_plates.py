"""Patterns: validation with reasons, the confusion table, deletion neighbourhoods, wildcard keys."""

from __future__ import annotations

import pytest

from checkpoint.core.errors import InvalidInput
from checkpoint.watchlist.index import WatchSpec
from checkpoint.watchlist.local_index import LocalIndex
from checkpoint.watchlist.plates import Mask, MatchMode, Strictness, canonical, deletions, parse_pattern, wildcard_mask


def found(mode: MatchMode, pattern: str, plate: str, strictness: Strictness = Strictness.normal) -> str | None:
    """Why `plate` matches, provided the index would also have offered the entry as a candidate."""
    parsed = parse_pattern(mode, pattern, strictness)
    spec = WatchSpec(id=1, mode=parsed.mode.value, pattern=parsed.text, strictness=parsed.strictness.value,
                     plate_colour=None, valid_from="2026-01-01T00:00:00+00:00", valid_to="2027-01-01T00:00:00+00:00")
    offered = LocalIndex([spec]).lookup(plate) == {1}
    why = parsed.explain(plate)
    assert why is None or offered, f"{plate} matches {pattern} but the index does not offer it"
    return why


@pytest.mark.parametrize(("watched", "read"), [
    ("粤L12345", "粤LT2345"), ("粤L80D56", "粤LB0D56"), ("粤L20S56", "粤LZ0556"), ("粤L6G001", "粤L66001"),
    ("粤L12377", "粤L123Z7"), ("粤L0AB12", "粤LD4B12"),
])
def test_each_confusion_pair_is_one_class(watched: str, read: str) -> None:
    assert canonical(watched) == canonical(read)
    assert found(MatchMode.fuzzy, watched, read) is not None


def test_the_reason_names_the_confusion() -> None:
    assert found(MatchMode.fuzzy, "粤L88227", "粤LB8227") == "confusion 8→B@3"
    assert found(MatchMode.fuzzy, "粤L88227", "粤L88227") == "fuzzy exact"


def test_one_missing_or_extra_character_unless_strict() -> None:
    assert found(MatchMode.fuzzy, "粤L88227", "粤L8827") == "missing 2@5"
    assert found(MatchMode.fuzzy, "粤L88227", "L88227") == "missing 粤@1"
    assert found(MatchMode.fuzzy, "粤L88227", "粤L882217") == "extra 1@7"
    assert found(MatchMode.fuzzy, "粤L88227", "粤L8827", Strictness.strict) is None


def test_strictness_limits_the_confusions() -> None:
    assert found(MatchMode.fuzzy, "粤L88227", "粤LBB227", Strictness.strict) is None
    assert found(MatchMode.fuzzy, "粤L88227", "粤LBB227", Strictness.normal) is not None
    assert found(MatchMode.fuzzy, "粤L88227", "粤LBBZZ7", Strictness.normal) is None
    assert found(MatchMode.fuzzy, "粤L88227", "粤LBBZZ7", Strictness.loose) is None  # four confusions
    assert found(MatchMode.fuzzy, "粤L88227", "粤LBBZ27", Strictness.loose) is not None


def test_a_different_character_is_no_confusion() -> None:
    assert found(MatchMode.fuzzy, "粤L88227", "粤L88237") is None
    assert found(MatchMode.fuzzy, "粤L88227", "粤A88227") is None


def test_deletion_neighbourhood() -> None:
    assert deletions("ABC") == ["BC", "AC", "AB"]
    keys = parse_pattern(MatchMode.fuzzy, "粤L88227").index_keys()
    assert "f:粤L88222" in keys and "d:L88222" in keys and len(keys) == 5  # deleting either 8 or any 2: one key
    assert parse_pattern(MatchMode.fuzzy, "粤L88227", Strictness.strict).index_keys() == ["f:粤L88222"]


def test_wildcards() -> None:
    assert found(MatchMode.wildcard, "粤L?23*", "粤LA2345") == "wildcard 粤L?23*"
    assert found(MatchMode.wildcard, "粤L?23*", "粤LA23456") is not None
    assert found(MatchMode.wildcard, "粤L?23*", "粤LA3345") is None
    assert found(MatchMode.wildcard, "*8A12", "粤L98A12") is not None
    assert wildcard_mask("粤L?23*") == ("<11011", "粤L23")
    assert wildcard_mask("*8A12") == (">1111", "8A12")
    assert wildcard_mask("粤L12?45") == ("=1111011", "粤L1245")
    assert Mask.parse(">1011").known("粤L98A12") == "812"
    assert Mask.parse("=1101111").known("粤L98A123") is None  # a whole-plate mask of another length


def test_exact_is_normalised_and_exact() -> None:
    assert parse_pattern(MatchMode.exact, " 粤l·12345 ").text == "粤L12345"
    assert found(MatchMode.exact, "粤L12345", "粤L12345") == "exact"
    assert found(MatchMode.exact, "粤L12345", "粤LT2345") is None


@pytest.mark.parametrize(("mode", "pattern", "reason"), [
    (MatchMode.exact, "", "empty"),
    (MatchMode.exact, "粤L1234", "not a valid plate"),
    (MatchMode.exact, "粤L12#45", "characters no plate has"),
    (MatchMode.exact, "粤L?2345", "wildcards"),
    (MatchMode.wildcard, "粤L*", "too broad"),
    (MatchMode.wildcard, "粤L12345", "needs '?'"),
    (MatchMode.wildcard, "A?12345", "province"),
    (MatchMode.wildcard, "粤L?*45", "before or after"),
    (MatchMode.wildcard, "粤L12??", "7 or 8"),
    (MatchMode.fuzzy, "12345", "not a valid plate"),
])
def test_bad_patterns_are_refused_with_the_reason(mode: MatchMode, pattern: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_pattern(mode, pattern)


def test_fuzzy_forgives_one_missing_or_extra_character_in_what_is_typed_as_its_help_text_says() -> None:
    short = parse_pattern(MatchMode.fuzzy, "粤LT246")  # normal: one character short of a plate
    assert short.text == "粤LT246"
    assert short.explain("粤LT2468") is not None and short.explain("粤LT246") is not None
    assert short.explain("粤LT24688") is None  # two off: too far
    assert parse_pattern(MatchMode.fuzzy, "粤LT246", Strictness.loose).explain("粤L1246B") is not None
    longer = parse_pattern(MatchMode.fuzzy, "粤LT24680")  # one extra
    assert longer.explain("粤LT2468") is not None
    with pytest.raises(InvalidInput, match="严"):  # strict forgives misreads only, and says so
        parse_pattern(MatchMode.fuzzy, "粤LT246", Strictness.strict)
    with pytest.raises(InvalidInput, match="not a valid plate"):
        parse_pattern(MatchMode.fuzzy, "粤L24")


def test_exact_refuses_text_that_is_no_plate_instead_of_repairing_it() -> None:
    with pytest.raises(InvalidInput, match="含有车牌中不会出现的字符"):
        parse_pattern(MatchMode.exact, "hello!!")
    with pytest.raises(InvalidInput, match="不是有效的车牌"):
        parse_pattern(MatchMode.exact, "粤L1234")
