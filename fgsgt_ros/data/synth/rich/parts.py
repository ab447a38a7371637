"""Figures of the rich scenes as lists of primitives: people, quadrupeds, vehicles, drones, birds
and posts, posed by gait phase, and their random proportions and part emissions."""

from __future__ import annotations

import math
from typing import Dict, List

import numpy as np


# A figure is a list of primitives in figure units (x right, y down), each with a relative emission:
#   ("ellipse", x, y, ax, ay, angle_deg, e) | ("poly", [(x, y), ...], e) | ("limb", x0, y0, x1, y1, t, e)
_Part = tuple


def _circle(x: float, y: float, r: float, e: float) -> _Part:
    return ("ellipse", x, y, r, r, 0.0, e)


def _rect(x0: float, y0: float, x1: float, y1: float, e: float) -> _Part:
    return ("poly", [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], e)


def _person_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Person facing right (height 1, y 0 = top of head): head, neck, torso, two arms, two legs;
    limbs swing with the walking ``phase`` (0 = standing pose when ``moving`` is 0)."""
    b, sw = p["build"], p["swing"] * moving
    s, c = math.sin(phase), math.cos(phase)
    eh, et, el, ea, ehand = p["e_head"], p["e_torso"], p["e_legs"], p["e_arms"], p["e_hands"]
    hip_y, sh_y = 0.52, 0.19
    L1, L2, A1, A2 = 0.245, 0.245, 0.165, 0.155
    out: List[_Part] = []
    if p["view"] < 0.5:  # side view
        def leg(side: int) -> List[_Part]:
            a = side * (0.45 * sw * s) + side * p["stance"]
            bend = 0.6 * sw * max(0.0, side * c)  # the knee bends while the leg swings forward
            kx, ky = L1 * math.sin(a), hip_y + L1 * math.cos(a)
            a2 = a - bend
            fx, fy = kx + L2 * math.sin(a2), ky + L2 * math.cos(a2)
            k = 1.0 if side > 0 else 0.93
            return [("limb", 0.0, hip_y, kx, ky, 0.085 * b, el * k), ("limb", kx, ky, fx, fy, 0.065 * b, el * k),
                    ("limb", fx, fy, fx + 0.06, fy, 0.04 * b, el * k * 0.95)]

        def arm(side: int) -> List[_Part]:
            ua = -side * 0.55 * sw * s + side * 0.5 * p["stance"]
            ex, ey = A1 * math.sin(ua), sh_y + A1 * math.cos(ua)
            fa = ua + 0.15 + 0.5 * sw * max(0.0, -side * s)
            hx, hy = ex + A2 * math.sin(fa), ey + A2 * math.cos(fa)
            k = 1.0 if side > 0 else 0.92
            return [("limb", 0.0, sh_y, ex, ey, 0.055 * b, ea * k), ("limb", ex, ey, hx, hy, 0.048 * b, ea * k),
                    _circle(hx, hy, 0.03 * b, ehand * k)]

        torso = [("poly", [(-0.06 * b, 0.17), (0.075 * b, 0.17), (0.07 * b, 0.545), (-0.065 * b, 0.545)], et),
                 ("ellipse", 0.005, 0.2, 0.07 * b, 0.045, 0.0, et)]
        out += arm(-1) + leg(-1) + torso
        out += [("limb", 0.0, 0.11, 0.005, 0.18, 0.05 * b, eh * 0.9), _circle(0.012, 0.066, 0.066, eh)]
        out += leg(1) + arm(1)
    else:  # walking towards or away from the camera: legs and arms swing in depth
        for side in (-1, 1):
            lift = 0.14 * sw * max(0.0, side * s)
            x = side * (0.055 + 0.3 * p["stance"]) * b
            out.append(("limb", x, hip_y, x * 1.1, hip_y + (L1 + L2) * (1 - lift), 0.08 * b, el))
            alift = 0.12 * sw * max(0.0, -side * s)
            ax = side * 0.125 * b
            hx, hy = side * 0.16 * b, sh_y + (A1 + A2) * (1 - alift)
            out += [("limb", ax, sh_y + 0.01, hx, hy, 0.055 * b, ea), _circle(hx, hy, 0.03 * b, ehand)]
        out += [("poly", [(-0.125 * b, 0.17), (0.125 * b, 0.17), (0.1 * b, 0.55), (-0.1 * b, 0.55)], et),
                ("limb", 0.0, 0.11, 0.0, 0.18, 0.055 * b, eh * 0.9), _circle(0.0, 0.066, 0.068, eh)]
    return out


def _animal_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Quadruped facing right (body length about 1, y 0 = body axis): body, neck and head, four
    legs in a trotting gait (diagonal pairs), tail."""
    bh, L, sw = p["body_h"], p["leg"], 0.4 * moving
    lt = max(0.04, 0.22 * bh) * p["thick"]
    eb, ehd, el, etl = p["e_body"], p["e_head"], p["e_legs"], p["e_tail"]
    y_top = 0.15 * bh

    def leg(x: float, off: float, k: float) -> _Part:
        a = sw * math.sin(phase + off)
        return ("limb", x, y_top, x + L * math.sin(a), y_top + L * math.cos(a), lt, el * k)

    tang = p["tail_angle"] + 0.12 * math.sin(0.5 * phase)
    tail = ("limb", -0.4, -0.15 * bh, -0.4 - p["tail"] * math.cos(tang), -0.15 * bh + p["tail"] * math.sin(tang),
            max(0.02, p["tail_t"]), etl)
    hx, hy = 0.36 + p["neck"] * 0.5, -0.2 * bh - p["neck"] * 0.85
    out = [leg(-0.28, math.pi, 0.9), leg(0.27, 0.0, 0.9), tail,
           ("ellipse", 0.0, 0.0, 0.42, bh / 2, 0.0, eb),
           ("limb", 0.3, -0.05 * bh, hx, hy, max(0.05, 0.5 * bh) * p["thick"], eb * 1.02),
           ("ellipse", hx + p["head"] * 0.55, hy, p["head"] * 1.35, p["head"] * 0.8, 25.0, ehd),
           leg(-0.3, 0.0, 1.0), leg(0.29, math.pi, 1.0)]
    return out


def _vehicle_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Vehicle facing right, length 1: from the side (y 0 = ground) with hot engine, exhaust, warm
    tyres and cold windows, or from above (``view`` 1) with hot bonnet and cold glass."""
    kind, eb, eg, ee = int(p["kind"]), p["e_body"], p["e_glass"], p["e_engine"]
    if p["view"] < 0.5:
        r = (0.075, 0.08, 0.058, 0.07)[kind]
        clear = 0.55 * r
        out: List[_Part] = []
        if kind == 0:  # car
            top = clear + 0.17
            out += [_rect(-0.5, -top, 0.5, -clear, eb),
                    ("poly", [(-0.33, -top), (0.23, -top), (0.08, -top - 0.15), (-0.25, -top - 0.15)], eb * 0.95),
                    ("poly", [(-0.29, -top - 0.01), (0.19, -top - 0.01), (0.06, -top - 0.13), (-0.23, -top - 0.13)], eg),
                    _rect(0.28, -top + 0.02, 0.5, -clear, ee)]
            exhaust = (-0.5, -clear - 0.01)
        elif kind == 1:  # van
            top = clear + 0.33
            out += [("poly", [(-0.5, -top), (0.3, -top), (0.5, -top + 0.15), (0.5, -clear), (-0.5, -clear)], eb),
                    ("poly", [(0.31, -top + 0.02), (0.47, -top + 0.16), (0.31, -top + 0.16)], eg),
                    _rect(-0.45, -top + 0.03, 0.25, -top + 0.12, eg * 1.05),
                    _rect(0.33, -top + 0.2, 0.5, -clear, ee)]
            exhaust = (-0.5, -clear - 0.01)
        elif kind == 2:  # bus: engine at the rear
            top = clear + 0.29
            out += [_rect(-0.5, -top, 0.5, -clear, eb),
                    _rect(-0.46, -top + 0.04, 0.44, -top + 0.13, eg),
                    _rect(0.455, -top + 0.03, 0.5, -top + 0.2, eg),
                    _rect(-0.5, -top + 0.17, -0.38, -clear, ee)]
            exhaust = (-0.5, -top + 0.02)
        else:  # truck: cab at the front, cooler cargo box
            top = clear + 0.36
            out += [_rect(-0.5, -top, 0.24, -clear - 0.02, eb * 0.8),
                    _rect(0.27, -top + 0.05, 0.5, -clear, eb),
                    _rect(0.35, -top + 0.08, 0.48, -top + 0.17, eg),
                    _rect(0.27, -top + 0.22, 0.5, -clear, ee)]
            exhaust = (0.25, -top + 0.02)
        out.append(_circle(exhaust[0], exhaust[1], 0.028, ee * 1.25))
        xs = {0: (-0.32, 0.32), 1: (-0.33, 0.33), 2: (-0.33, 0.3), 3: (-0.38, -0.22, 0.36)}[kind]
        for x in xs:
            out += [_circle(x, -r, r, p["e_tyre"]), _circle(x, -r, 0.45 * r, p["e_tyre"] * 1.15)]
        return out
    wd = (0.44, 0.46, 0.27, 0.3)[kind] / 2
    out = [("poly", [(-0.5, -wd * 0.85), (-0.46, -wd), (0.44, -wd), (0.5, -wd * 0.8), (0.5, wd * 0.8),
                     (0.44, wd), (-0.46, wd), (-0.5, wd * 0.85)], eb)]
    if kind == 0:
        out += [_rect(0.2, -wd * 0.9, 0.5, wd * 0.9, ee), _rect(0.07, -wd * 0.85, 0.2, wd * 0.85, eg),
                _rect(-0.25, -wd * 0.85, 0.07, wd * 0.85, eb * p["e_roof"]),
                _rect(-0.36, -wd * 0.8, -0.25, wd * 0.8, eg)]
    elif kind == 1:
        out += [_rect(0.32, -wd * 0.9, 0.5, wd * 0.9, ee), _rect(0.24, -wd * 0.85, 0.32, wd * 0.85, eg),
                _rect(-0.48, -wd * 0.85, 0.24, wd * 0.85, eb * p["e_roof"])]
    elif kind == 2:
        out += [_rect(-0.5, -wd * 0.9, -0.4, wd * 0.9, ee), _rect(0.46, -wd * 0.9, 0.5, wd * 0.9, eg),
                _rect(-0.2, -wd * 0.5, 0.0, wd * 0.5, eb * 1.15), _rect(0.15, -wd * 0.5, 0.3, wd * 0.5, eb * 1.1)]
    else:
        out += [_rect(0.28, -wd, 0.5, wd, ee), _rect(-0.5, -wd, 0.25, wd, eb * p["e_roof"])]
    return out


def _drone_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Small drone, span 1: quadcopter seen from below (X arms, hot motors), from the side (arms,
    motors, landing legs), or a fixed-wing airframe."""
    kind, eb, em, ea = int(p["kind"]), p["e_body"], p["e_motor"], p["e_arms"]
    if kind == 0:
        out: List[_Part] = []
        for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
            out.append(("limb", 0.0, 0.0, 0.33 * sx, 0.33 * sy, 0.07, ea))
        out.append(("ellipse", 0.0, 0.0, 0.15, 0.12, 0.0, eb))
        out += [_circle(0.34 * sx, 0.34 * sy, 0.085, em) for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1))]
        return out
    if kind == 1:
        tilt = 0.03 * math.sin(phase)
        return [("limb", -0.1, 0.05, -0.16, 0.17, 0.03, ea * 0.8), ("limb", 0.1, 0.05, 0.16, 0.17, 0.03, ea * 0.8),
                ("limb", -0.43, -tilt, 0.43, tilt, 0.055, ea), ("ellipse", 0.0, 0.0, 0.17, 0.085, 0.0, eb),
                ("ellipse", -0.43, -0.035 - tilt, 0.05, 0.045, 0.0, em),
                ("ellipse", 0.43, -0.035 + tilt, 0.05, 0.045, 0.0, em),
                ("ellipse", -0.43, -0.08 - tilt, 0.15, 0.012, 0.0, ea * 0.85),
                ("ellipse", 0.43, -0.08 + tilt, 0.15, 0.012, 0.0, ea * 0.85)]
    return [("poly", [(0.02, -0.5), (0.13, -0.5), (0.13, 0.5), (0.02, 0.5)], ea),
            ("poly", [(-0.34, -0.16), (-0.27, -0.16), (-0.27, 0.16), (-0.34, 0.16)], ea * 0.9),
            ("ellipse", 0.0, 0.0, 0.36, 0.05, 0.0, eb), _circle(0.34, 0.0, 0.04, em)]


def _bird_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Bird facing right, span about 1: body, head, tail and two flapping wings."""
    s = math.sin(phase)
    eb, ew = p["e_body"], p["e_wings"]
    tip_y, tip_x = -0.42 * s, -0.08 + 0.06 * math.cos(phase)
    out = [("poly", [(0.07, -0.01), (-0.07, -0.01), (tip_x - 0.06, tip_y * 0.92)], ew * 0.9)]
    out += [("poly", [(-0.14, 0.0), (-0.3, -0.05), (-0.3, 0.05)], eb * 0.8),
            ("ellipse", 0.0, 0.0, 0.18, 0.065, 0.0, eb), _circle(0.19, -0.02, 0.05, eb * 1.08),
            ("poly", [(0.08, 0.0), (-0.06, 0.0), (tip_x, tip_y)], ew)]
    return out


def _post_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Post, pole or tree trunk: width 1, height ``p["height"]``, centred."""
    h = p["height"] / 2
    return [_rect(-0.5, -h, 0.5, h, 1.0)]


_PARTS = {"person": _person_parts, "animal": _animal_parts, "vehicle": _vehicle_parts, "drone": _drone_parts,
          "bird": _bird_parts, "post": _post_parts}


def _figure_params(rng: np.random.Generator, category: str, view: str) -> Dict[str, float]:
    """Random proportions and part emissions (relative to the body, about 1) of one figure."""
    u = rng.uniform
    if category == "person":
        return {"build": u(0.85, 1.2), "swing": u(0.7, 1.1), "stance": u(0.02, 0.08),
                "view": float(rng.random() < 0.25), "e_head": u(1.2, 1.5), "e_torso": u(0.75, 1.05),
                "e_legs": u(0.7, 1.0), "e_arms": u(0.75, 1.0), "e_hands": u(1.05, 1.3)}
    if category == "animal":
        kind = int(rng.choice(3, p=[0.35, 0.4, 0.25]))  # horse/deer, dog/fox, small (possum, rodent)
        leg, bh, neck = [(u(0.45, 0.6), u(0.26, 0.34), u(0.2, 0.35)), (u(0.28, 0.42), u(0.25, 0.34), u(0.05, 0.15)),
                         (u(0.12, 0.22), u(0.32, 0.45), u(0.0, 0.06))][kind]
        return {"leg": leg, "body_h": bh, "neck": neck, "head": u(0.07, 0.12) if kind else u(0.08, 0.1),
                "tail": u(0.15, 0.5), "tail_t": u(0.02, 0.06), "tail_angle": u(0.3, 1.2), "thick": u(0.9, 1.2),
                "e_body": 1.0, "e_head": u(1.05, 1.35), "e_legs": u(0.75, 1.0), "e_tail": u(0.6, 0.9)}
    if category == "vehicle":
        return {"kind": float(rng.choice(4, p=[0.55, 0.15, 0.15, 0.15])), "view": float(view == "top"),
                "e_body": u(0.8, 1.0), "e_glass": u(0.35, 0.7), "e_engine": u(1.3, 2.0), "e_tyre": u(1.05, 1.5),
                "e_roof": u(0.7, 1.0)}
    if category == "drone":
        return {"kind": float(rng.choice(3, p=[0.5, 0.35, 0.15])), "e_body": u(1.0, 1.3),
                "e_motor": u(1.3, 1.9), "e_arms": u(0.7, 0.95)}
    if category == "bird":
        return {"e_body": u(1.0, 1.3), "e_wings": u(0.6, 0.9)}
    if category == "post":
        return {"height": u(4.0, 30.0)}
    raise ValueError(f"unknown figure category {category!r}")
