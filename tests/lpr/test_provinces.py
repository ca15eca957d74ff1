"""Every province and every GA 36 kind: the balanced synthetic set, the eval tables, the 皖 prior."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from checkpoint.lpr import LprSettings, make_plate_engine
from checkpoint.lpr.alphabet import ALPHABET, INDEX, PROVINCES
from checkpoint.lpr.cli import app
from checkpoint.lpr.engines import PlateEngine
from checkpoint.lpr.models import PlateType
from checkpoint.lpr.normalize import is_valid_plate, normalize_plate, plate_type_of
from checkpoint.lpr.ocr import CharGuess
from checkpoint.lpr.plate_render import KIND_BY_NAME, KINDS, degrade, fonts_available, render_plate
from checkpoint.lpr.priors import province_prior, reweigh
from checkpoint.lpr.synthetic_set import write_balanced_set

pytestmark = pytest.mark.skipif(not fonts_available(), reason="no CJK or Latin font (make browser installs them)")


def test_synth_command_writes_every_province_of_every_kind(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", str(tmp_path), "--per-cell", "1"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kinds = {row["type"] for row in rows}
    assert kinds == {kind.name for kind in KINDS}
    blue = {row["plate"][0] for row in rows if row["type"] == "blue"}
    assert blue == set(PROVINCES)
    armed = {row["plate"][2] for row in rows if row["type"] == "armed_police"}
    assert armed == set(PROVINCES)
    assert [row["plate"] for row in rows if not is_valid_plate(row["plate"])] == []
    per_kind = {kind: sum(row["type"] == kind for row in rows) for kind in kinds}
    assert set(per_kind.values()) == {len(PROVINCES)}  # every kind weighs the same
    assert (tmp_path / rows[-1]["file"]).stat().st_size > 0


def test_eval_prints_and_returns_province_and_type_tables(tmp_path: Path) -> None:
    kinds = (KIND_BY_NAME["blue"], KIND_BY_NAME["military"], KIND_BY_NAME["armed_police"])
    count = write_balanced_set(tmp_path / "set", per_cell=1, seed=5, kinds=kinds)
    runner = CliRunner()
    result = runner.invoke(app, ["eval", str(tmp_path / "set"), "--json", "--report", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["plates"] == count
    assert set(summary["by_type"]) == {"blue", "military", "armed_police"}
    assert set(PROVINCES) <= set(summary["by_province"])
    assert sum(row["plates"] for row in summary["by_type"].values()) == count
    assert summary["by_type"]["military"]["exact_accuracy"] >= 0.9
    assert summary["province_accuracy"] >= 0.9
    text = runner.invoke(app, ["eval", str(tmp_path / "set"), "--report", str(tmp_path / "r.html")])
    assert "by province" in text.output and "by type" in text.output and "military" in text.output


def test_special_layouts_are_plates_of_their_type() -> None:
    assert plate_type_of("VA12345") is PlateType.MILITARY
    assert plate_type_of("WJ粤1234X") is PlateType.ARMED_POLICE
    assert plate_type_of("民航A1234") is PlateType.CIVIL_AVIATION
    assert plate_type_of("123456使") is PlateType.EMBASSY
    assert normalize_plate("粤O·12345") == "粤O12345"
    assert normalize_plate("粤012345") == "粤O12345"  # a digit never stands second: 粤O, not 粤D
    assert normalize_plate("京012345") == "京D12345"  # elsewhere GA 36 has no O
    assert not is_valid_plate("京O12345")


def test_rendered_special_plates_are_read(engine: PlateEngine) -> None:
    rng = np.random.default_rng(7)
    for name, text in (("military", "VA12345"), ("armed_police", "WJ粤2345X"), ("civil_aviation", "民航A1234"),
                       ("embassy", "使123456"), ("blue", "粤O12345")):
        read = engine.read_plate_image(degrade(render_plate(KIND_BY_NAME[name], text), rng, target_width=180))
        assert read is not None and read.text == text, (name, read and read.text)


def _guess(char: str, probability: float, other: str) -> CharGuess:
    probs = np.zeros(len(ALPHABET), dtype=np.float32)
    probs[INDEX[char]], probs[INDEX[other]] = probability, 1 - probability
    return CharGuess(probs=probs, position=0.05)


def test_wan_bias_divides_out_and_local_province_is_a_prior() -> None:
    prior = province_prior(4.0)
    (weighed,) = reweigh([_guess("皖", 0.75, "粤")], prior)
    assert weighed.best == "粤"  # 0.75 / 4 < 0.25
    (sure,) = reweigh([_guess("皖", 0.999, "粤")], prior)
    assert sure.best == "皖"
    local = province_prior(1.0, "粤", 3.0)
    (boosted,) = reweigh([_guess("湘", 0.6, "粤")], local)
    assert boosted.best == "粤"
    assert province_prior(1.0) is None


def test_local_province_setting_is_checked() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError):
        LprSettings(local_province="X")
    engine = make_plate_engine(LprSettings(local_province="粤"))
    rng = np.random.default_rng(3)
    read = engine.read_plate_image(degrade(render_plate(KIND_BY_NAME["blue"], "粤B12345"), rng, target_width=180))
    assert read is not None and read.text == "粤B12345"


def test_letter_first_layouts_only_where_the_colour_allows() -> None:
    from checkpoint.lpr.models import PlateColour
    from checkpoint.lpr.normalize import best_plate_text, excluded_types

    distributions = []
    for char, other in zip("KA12345", "皖DZZZZZ", strict=True):
        probs = np.zeros(len(ALPHABET), dtype=np.float32)
        probs[INDEX[char]], probs[INDEX[other]] = 0.9, 0.1
        distributions.append(probs)
    white = best_plate_text(distributions, excluded=excluded_types(PlateColour.WHITE))
    blue = best_plate_text(distributions, excluded=excluded_types(PlateColour.BLUE))
    assert white is not None and (white.text, white.plate_type) == ("KA12345", PlateType.MILITARY)
    assert blue is not None and blue.text == "皖A12345"  # a blue plate read letter-first lost its province
    assert excluded_types(PlateColour.BLACK) == frozenset()  # dim white plates are often classed black


def test_breakdown_counts_exact_reads_and_the_province_confusion() -> None:
    from checkpoint.lpr.breakdown import Breakdown, province_of, table_lines

    assert province_of("WJ粤1234X") == "粤" and province_of("VA12345") == "-" and province_of("") == ""
    breakdown = Breakdown()
    breakdown.add("粤B12345", "粤B12345", "blue")
    breakdown.add("粤B12346", "皖B12346", "blue")
    breakdown.add("湘A12345", "", "yellow")
    summary = breakdown.summary()
    assert summary["by_province"]["粤"] == {  # type: ignore[index]
        "plates": 2, "exact": 1, "exact_accuracy": 0.5, "province_accuracy": 0.5, "read_as": {"皖": 1}}
    assert summary["by_type"]["yellow"]["read_as"] == {"(none)": 1}  # type: ignore[index]
    assert summary["province_accuracy"] == round(1 / 3, 4)
    lines = table_lines("by province", summary["by_province"])  # type: ignore[arg-type]
    assert [line.split()[0] for line in lines[2:]] == ["湘", "粤"]  # GA 36's province order
    assert lines[3].split()[:4] == ["粤", "2", "50.0%", "50.0%"] and "皖×1" in lines[3]
