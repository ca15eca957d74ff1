"""Frames of a lane camera: a road, vehicle-like shapes driving towards the camera, plates on them.

Vehicles enter at the top of the frame and leave at the bottom, growing a little as they come
closer; light drifts slowly and every frame carries sensor noise, so motion gating and the
multi-frame vote are exercised on frames that are never identical.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

PLATE_WIDTH_SHARE = 0.29  # of the vehicle width (0.44 m plate on a 1.5-1.7 m car front)
# BGR; no blue body, which would hide a blue plate (real plates sit in a contrasting holder anyway)
BODY_COLOURS = ((40, 40, 40), (200, 200, 205), (30, 30, 140), (40, 70, 120), (235, 235, 235), (60, 100, 60))


@dataclass(frozen=True)
class Vehicle:
    """One vehicle's path: when it enters (s), how long it takes to cross (s), where its lane is."""

    plate_index: int
    enter_s: float
    crossing_s: float
    centre_x_share: float
    colour: tuple[int, int, int]

    def top_share(self, t_s: float, height_share: float) -> float:
        """Top of the body as a share of the frame height (below -height_share: not yet in view)."""
        progress = (t_s - self.enter_s) / self.crossing_s
        return -height_share + progress * (1.0 + height_share)


class LaneScene:
    """Draws frame `index` of a feed with these vehicles and plate images."""

    def __init__(self, size: tuple[int, int], fps: float, vehicles: list[Vehicle], plates: list[Image],
                 seed: int = 0, noise_sigma: float = 4.0, plate_px: int = 170) -> None:
        self.width, self.height = size
        self.fps = fps
        self.vehicles = vehicles
        self.plates = plates
        self.road = _road(size, seed)
        rng = np.random.default_rng(seed)
        self.noise = [rng.normal(0, noise_sigma, (self.height, self.width, 1)).astype(np.int16) for _ in range(8)]
        self.light_period_s = 9.0 + seed % 5
        self.body_px = plate_px / PLATE_WIDTH_SHARE  # plates are framed at a set width, whatever the sensor

    def vehicle_width(self, t_s: float, vehicle: Vehicle) -> int:
        progress = min(max((t_s - vehicle.enter_s) / vehicle.crossing_s, 0.0), 1.0)
        return int(self.body_px * (0.85 + 0.3 * progress))

    def plate_box(self, index: int, vehicle: Vehicle) -> tuple[int, int, int, int] | None:
        """Where the vehicle's plate is in frame `index` (x1, y1, x2, y2), None when not wholly in view."""
        t_s = index / self.fps
        body_w = self.vehicle_width(t_s, vehicle)
        body_h = int(body_w * 0.8)
        top = int(vehicle.top_share(t_s, body_h / self.height) * self.height)
        left = int(vehicle.centre_x_share * self.width - body_w / 2)
        plate = self.plates[vehicle.plate_index]
        plate_w = int(body_w * PLATE_WIDTH_SHARE)
        plate_h = max(8, int(plate_w * plate.shape[0] / plate.shape[1]))
        x1 = left + (body_w - plate_w) // 2
        y1 = top + int(body_h * 0.78)
        if y1 < 0 or y1 + plate_h > self.height or x1 < 0 or x1 + plate_w > self.width:
            return None
        return x1, y1, x1 + plate_w, y1 + plate_h

    def frame(self, index: int) -> Image:
        t_s = index / self.fps
        image = self.road.copy()
        for vehicle in self.vehicles:
            if vehicle.enter_s - 0.1 <= t_s <= vehicle.enter_s + vehicle.crossing_s + 0.1:
                self._draw_vehicle(image, index, vehicle)
        gain = 0.85 + 0.15 * math.sin(2 * math.pi * t_s / self.light_period_s)
        noisy = image.astype(np.int16) * gain + self.noise[index % len(self.noise)]
        clipped: Image = np.clip(noisy, 0, 255).astype(np.uint8)
        return clipped

    def _draw_vehicle(self, image: Image, index: int, vehicle: Vehicle) -> None:
        t_s = index / self.fps
        body_w = self.vehicle_width(t_s, vehicle)
        body_h = int(body_w * 0.8)
        top = int(vehicle.top_share(t_s, body_h / self.height) * self.height)
        left = int(vehicle.centre_x_share * self.width - body_w / 2)
        colour = vehicle.colour
        shadow = (left + body_w // 20, top + body_h - body_h // 30, left + body_w - body_w // 20, top + body_h + 12)
        cv2.rectangle(image, shadow[:2], shadow[2:], (25, 25, 25), -1)
        cv2.rectangle(image, (left, top + body_h // 6), (left + body_w, top + body_h), colour, -1)
        roof = np.array([[left + body_w // 8, top + body_h // 5], [left + body_w // 5, top],
                         [left + body_w * 4 // 5, top], [left + body_w * 7 // 8, top + body_h // 5]], np.int32)
        cv2.fillConvexPoly(image, roof, colour)
        glass = np.array([[left + body_w // 7, top + body_h * 9 // 20], [left + body_w // 5, top + body_h // 12],
                          [left + body_w * 4 // 5, top + body_h // 12],
                          [left + body_w * 6 // 7, top + body_h * 9 // 20]], np.int32)
        cv2.fillConvexPoly(image, glass, (70, 55, 45))
        lamp_y, lamp_h = top + body_h * 56 // 100, body_h // 10
        for lamp_x in (left + body_w // 16, left + body_w * 13 // 16):
            cv2.rectangle(image, (lamp_x, lamp_y), (lamp_x + body_w // 8, lamp_y + lamp_h), (210, 230, 240), -1)
        grille_w = body_w // 2
        cv2.rectangle(image, (left + (body_w - grille_w) // 2, lamp_y),
                      (left + (body_w + grille_w) // 2, lamp_y + lamp_h), (35, 35, 35), -1)
        box = self.plate_box(index, vehicle)
        if box is not None:
            x1, y1, x2, y2 = box
            plate = self.plates[vehicle.plate_index]
            holder = max(2, (x2 - x1) // 30)
            cv2.rectangle(image, (x1 - holder, y1 - holder), (x2 + holder, y2 + holder), (20, 20, 20), -1)
            image[y1:y2, x1:x2] = cv2.resize(plate, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)


def _road(size: tuple[int, int], seed: int) -> Image:
    """Asphalt with lane lines and a fixed texture."""
    width, height = size
    rng = np.random.default_rng(seed + 1)
    road = np.full((height, width, 3), 92, np.uint8)
    texture = cv2.GaussianBlur(rng.integers(0, 24, (height, width), dtype=np.uint8), (5, 5), 0)
    road = cv2.add(road, cv2.cvtColor(texture, cv2.COLOR_GRAY2BGR)).astype(np.uint8)
    for x_share in (0.18, 0.82):
        x = int(width * x_share)
        cv2.line(road, (x, 0), (x, height), (215, 215, 215), max(2, width // 200))
    for y in range(0, height, max(40, height // 8)):
        cv2.line(road, (width // 2, y), (width // 2, y + height // 20), (200, 200, 200), max(2, width // 300))
    verge = int(width * 0.1)
    road[:, :verge] = (60, 95, 70)
    road[:, width - verge:] = (60, 95, 70)
    return road


def schedule(count: int, *, gap_s: float, crossing_s: float, seed: int, start_s: float = 0.5) -> list[Vehicle]:
    """`count` vehicles entering every `gap_s` (±20%), each with its own plate, lane offset and colour."""
    rng = random.Random(seed)
    vehicles = []
    enter_s = start_s
    for index in range(count):
        vehicles.append(Vehicle(plate_index=index, enter_s=enter_s,
                                crossing_s=crossing_s * rng.uniform(0.9, 1.1),
                                centre_x_share=0.5 + rng.uniform(-0.06, 0.06), colour=rng.choice(BODY_COLOURS)))
        enter_s += gap_s * rng.uniform(0.8, 1.2)
    return vehicles
