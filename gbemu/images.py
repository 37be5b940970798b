"""Frames as pictures: shade indices to RGB, PNG files in and out.

The DMG shows four shades; the frame buffer holds their indices 0 (lightest)
to 3 (darkest). Screenshots and reference comparisons use the grey scale the
test suites use, #FFFFFF #AAAAAA #555555 #000000, unless a palette is given.
"""

from __future__ import annotations

import os

import numpy as np

GREY = np.array([[0xFF, 0xFF, 0xFF], [0xAA, 0xAA, 0xAA], [0x55, 0x55, 0x55], [0, 0, 0]],
                np.uint8)
CLASSIC_GREEN = np.array([[0x9B, 0xBC, 0x0F], [0x8B, 0xAC, 0x0F], [0x30, 0x62, 0x30],
                          [0x0F, 0x38, 0x0F]], np.uint8)
PALETTES = {"grey": GREY, "green": CLASSIC_GREEN}


def palette_from_hex(colours) -> np.ndarray:
    """Four '#RRGGBB' strings, lightest first, as a (4, 3) uint8 palette."""
    return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], np.uint8)


def to_rgb(shades: np.ndarray, palette: np.ndarray = GREY) -> np.ndarray:
    """(144, 160) shade indices -> (144, 160, 3) uint8 RGB."""
    return palette[np.asarray(shades) & 3]


def _pygame():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    return pygame


def save_png(path, rgb: np.ndarray):
    """Write an (H, W, 3) uint8 image as PNG."""
    pygame = _pygame()
    surface = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.transpose(1, 0, 2)))
    pygame.image.save(surface, str(path))


def load_png(path) -> np.ndarray:
    """Read a PNG as (H, W, 3) uint8 RGB."""
    pygame = _pygame()
    surface = pygame.image.load(str(path))
    return np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))


def difference(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """An image that is black where the two agree and red where they differ."""
    out = np.zeros_like(actual)
    out[(actual != expected).any(axis=2)] = (255, 0, 0)
    return out
