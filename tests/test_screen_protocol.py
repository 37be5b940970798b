"""The reference-screen protocol of the test runner: pass on an exact match,
fail with actual/expected/difference images otherwise."""

from __future__ import annotations

import numpy as np

from gbemu import images
from gbemu.testrunner import find_reference_image, run_test_rom

ACID2 = "acid2/dmg-acid2/dmg-acid2.gb"


def test_reference_is_found_beside_the_rom(rom_root):
    assert find_reference_image(rom_root / ACID2).name == "reference-dmg.png"
    assert find_reference_image(rom_root / "blargg/halt_bug.gb") is None


def test_a_wrong_picture_fails_and_leaves_the_three_images(rom_root, tmp_path):
    reference = images.load_png(rom_root / "acid2/dmg-acid2/img/reference-dmg.png")
    wrong = reference.copy()
    wrong[0:4, 0:4] = 0                      # a 4x4 black square in the white corner
    wrong_path = tmp_path / "wrong.png"
    images.save_png(wrong_path, wrong)

    verdict = run_test_rom(rom_root / ACID2, timeout=5, reference=wrong_path,
                           artifacts_dir=tmp_path / "out")

    assert verdict.verdict == "fail"
    differing = int((reference != wrong).any(axis=2).sum())
    assert differing == 16
    assert f"{differing} pixels differ" in verdict.detail
    actual = images.load_png(tmp_path / "out" / "dmg-acid2-actual.png")
    assert np.array_equal(actual, reference)
    assert np.array_equal(images.load_png(tmp_path / "out" / "dmg-acid2-expected.png"), wrong)
    diff = images.load_png(tmp_path / "out" / "dmg-acid2-diff.png")
    assert int((diff != 0).any(axis=2).sum()) == differing
