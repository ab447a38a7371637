"""Burnt-in on-screen display (OSD) of 8-bit display video: status text, crosshair, watermark, bars."""

from __future__ import annotations

from typing import Tuple

import numpy as np


_OVERLAY_WORDS = ("THERMAL", "IR CAM", "LWIR", "NIGHT VISION", "SECURITY", "PTZ-2", "OBSERVER", "CH-IR")


class _Overlay:
    """Burnt-in on-screen display drawn into every 8-bit frame: status text (date/time that runs,
    azimuth/elevation/field of view, channel, zoom), a crosshair or corner brackets, a faint
    watermark, and a colour-scale bar or a measuring bar."""

    def __init__(self, rng: np.random.Generator, H: int, W: int):
        self.H, self.W = H, W
        self.font = int(rng.choice([0, 1, 2, 3, 4]))  # cv2 Hershey fonts
        self.fs = max(0.3, H / 520 * rng.uniform(0.5, 1.1))
        self.th = 1 if self.fs < 0.9 or rng.random() < 0.5 else 2
        self.colour = float(rng.choice([255.0, 235.0, 0.0, 30.0], p=[0.5, 0.2, 0.2, 0.1]))
        self.outline = rng.random() < 0.3
        y, mo, d = int(rng.integers(2015, 2026)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        self.t0 = int(rng.integers(0, 86400))
        self.fps = float(rng.choice([9.0, 25.0, 30.0]))
        self.date = f"{y}-{mo:02d}-{d:02d}" if rng.random() < 0.6 else f"{d:02d}/{mo:02d}/{y}"
        self.az, self.el, self.fov = rng.uniform(0, 360), rng.uniform(-5, 30), rng.uniform(0.5, 40)
        self.lines = [k for k in ("time", "angles", "channel", "zoom") if rng.random() < 0.6] or ["time"]
        self.bottom = rng.random() < 0.3
        self.cross = str(rng.choice(["none", "cross", "brackets", "both"], p=[0.3, 0.3, 0.25, 0.15]))
        self.cross_size = rng.uniform(0.03, 0.12) * min(H, W)
        self.watermark = (str(rng.choice(_OVERLAY_WORDS)), rng.uniform(0.08, 0.3), rng.uniform(0.05, 0.6),
                          rng.uniform(0.2, 0.8)) if rng.random() < 0.4 else None
        self.bar = str(rng.choice(["none", "palette", "measure"], p=[0.5, 0.3, 0.2]))
        self.channel = int(rng.integers(1, 5))

    def _text(self, img: np.ndarray, text: str, org: Tuple[int, int], scale: float, colour: float,
              thickness: int) -> None:
        import cv2

        if self.outline:
            cv2.putText(img, text, org, self.font, scale, 255.0 - colour, thickness + 2, cv2.LINE_AA)
        cv2.putText(img, text, org, self.font, scale, colour, thickness, cv2.LINE_AA)

    def draw(self, img: np.ndarray, i: int) -> np.ndarray:
        import cv2

        H, W = self.H, self.W
        out = img.copy()
        line_h = int(28 * self.fs) + 4
        t = self.t0 + int(i / self.fps)
        texts = {"time": f"{self.date} {t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}",
                 "angles": f"AZ {self.az + 0.01 * i:.2f}  EL {self.el:.2f}  FOV {self.fov:.2f}",
                 "channel": f"CH{self.channel} IR", "zoom": f"x{40 / self.fov:.1f}"}
        y = H - 8 - line_h * (len(self.lines) - 1) if self.bottom else line_h
        for k in self.lines:
            self._text(out, texts[k], (8, y), self.fs, self.colour, self.th)
            y += line_h
        cx, cy, s = W // 2, H // 2, int(self.cross_size)
        if self.cross in ("cross", "both"):
            g = max(2, s // 4)
            for (a, b) in (((cx - s, cy), (cx - g, cy)), ((cx + g, cy), (cx + s, cy)),
                           ((cx, cy - s), (cx, cy - g)), ((cx, cy + g), (cx, cy + s))):
                cv2.line(out, a, b, self.colour, self.th)
        if self.cross in ("brackets", "both"):
            bw, bh, L = int(W * 0.2), int(H * 0.2), max(4, s)
            for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
                px, py = cx + sx * bw, cy + sy * bh
                cv2.line(out, (px, py), (px - sx * L, py), self.colour, self.th)
                cv2.line(out, (px, py), (px, py - sy * L), self.colour, self.th)
        if self.watermark is not None:
            word, alpha, fx, fy = self.watermark
            wm = np.zeros_like(out)
            scale = max(0.5, W / 400)
            cv2.putText(wm, word, (int(fx * W), int(fy * H) + int(30 * scale)), cv2.FONT_HERSHEY_DUPLEX, scale,
                        255, max(1, int(scale * 2)), cv2.LINE_AA)
            a = wm.astype(np.float32) * (alpha / 255.0)
            out = np.clip(np.round(out * (1 - a) + a * self.colour), 0, 255).astype(np.uint8)
        if self.bar == "palette":
            bw, bh = max(4, W // 60), H // 3
            x0, y0 = W - bw - 10, H // 3
            out[y0:y0 + bh, x0:x0 + bw] = np.linspace(255, 0, bh).astype(np.uint8)[:, None]
            self._text(out, f"{self.az / 10:.1f}", (x0 - int(60 * self.fs), y0 + 10), self.fs * 0.8, self.colour, 1)
            self._text(out, f"{self.el:.1f}", (x0 - int(60 * self.fs), y0 + bh), self.fs * 0.8, self.colour, 1)
        elif self.bar == "measure":
            L, y0 = W // 8, H - 14
            cv2.line(out, (10, y0), (10 + L, y0), self.colour, self.th)
            cv2.line(out, (10, y0 - 5), (10, y0 + 3), self.colour, self.th)
            cv2.line(out, (10 + L, y0 - 5), (10 + L, y0 + 3), self.colour, self.th)
            self._text(out, f"{int(self.fov * 2) + 1} m", (14 + L, y0 + 4), self.fs * 0.8, self.colour, 1)
        return out
