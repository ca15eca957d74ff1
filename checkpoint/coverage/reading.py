"""The plan's rule as a stated reading: which areas, whose checkpoints count, where vehicles come from.

The plan: "实现任一辆机动车进入或驶离市、县（区）中心区域（政府所在地等）前，在正常行驶车道上被所进入或
驶离的市、县（区）的治安卡口拍照识别 ≥ 2 次", with checkpoints on the "市、县（区）际两道防线". The words
leave choices; each is a switch here, and every result names the reading it was computed under, so a
planner never compares answers to two different questions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

AreasChoice = Literal["centres", "city"]
Counting = Literal["jurisdiction", "any", "ring"]
Origins = Literal["two_lines", "strict"]

# road classes from the most to the least important (OSM highway values; `_link` drives as its road)
ROAD_CLASSES: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                                 "residential", "living_street", "service", "track")
UNKNOWN_CLASS = "road"  # OSM's "class unknown": a graph without classes keeps every road
DEFAULT_MIN_ROAD_CLASS = "residential"
CITY = "441300"
# 惠州市人民政府 (江北): the city centre is the centre area around it
CITY_SEAT: tuple[float, float] = (114.4160, 23.1110)

WORDS: dict[str, dict[str, str]] = {
    "areas": {"centres": "市中心区 + 七个县（区）中心区（默认）", "city": "另加整个市域"},
    "counting": {"jurisdiction": "所进入或驶离的市、县（区）的卡口（默认）", "any": "任何卡口",
                 "ring": "仅该区域自己一圈的卡口"},
    "origins": {"two_lines": "两道防线：从所进入的市、县（区）之外驶向其中心区（默认）",
                "strict": "严格：从该区域之外任何地方"},
}


class Reading(BaseModel):
    """One reading of the rule; the defaults are the plan's own words."""

    model_config = ConfigDict(frozen=True)

    areas: AreasChoice = Field(default="centres", description="centres: the city centre and the county centres; "
                                                              "city: the whole city as well")
    counting: Counting = Field(default="jurisdiction", description="whose checkpoints count for an area")
    origins: Origins = Field(default="two_lines", description="where vehicles entering come from")
    min_road_class: str = Field(default=DEFAULT_MIN_ROAD_CLASS,
                                description="roads below this class are not normal driving lanes (正常行驶车道)")

    @field_validator("min_road_class")
    @classmethod
    def _known_class(cls, value: str) -> str:
        if value not in ROAD_CLASSES:
            raise ValueError(f"道路等级须为 {', '.join(ROAD_CLASSES)} 之一")
        return value

    def drives(self, highway: str) -> bool:
        """Is a road of this class one a vehicle normally drives? Unknown classes always are."""
        base = highway.removesuffix("_link")
        if base not in ROAD_CLASSES:
            return True
        return ROAD_CLASSES.index(base) <= ROAD_CLASSES.index(self.min_road_class)

    def describe(self) -> dict[str, Any]:
        """The reading as a `reading` key: the switches and the words they stand for."""
        return {"areas": self.areas, "counting": self.counting, "origins": self.origins,
                "min_road_class": self.min_road_class,
                "words": {"areas": WORDS["areas"][self.areas], "counting": WORDS["counting"][self.counting],
                          "origins": WORDS["origins"][self.origins],
                          "roads": f"正常行驶车道：{self.min_road_class} 及以上等级的道路（无等级的道路都算）"}}


def all_readings(min_road_class: str = DEFAULT_MIN_ROAD_CLASS) -> list[Reading]:
    """Every combination of the switches (2 x 3 x 2), for tests and for the planner's comparison."""
    return [Reading(areas=a, counting=c, origins=o, min_road_class=min_road_class)
            for a in ("centres", "city") for c in ("jurisdiction", "any", "ring") for o in ("two_lines", "strict")]
