"""Class-per-folder scanning, validation of bad files, splits and image modes."""

import numpy as np
import pytest
from PIL import Image

from conftest import write_image_folder
from kerascenes.data.folders import (align_classes, check_same_classes, load_image_folder, scan_image_folder,
                                     stratified_split)
from kerascenes.data.images import check_image, load_image
from kerascenes.errors import KerascenesError


def test_scan_lists_classes_and_labels(image_folder):
    images = load_image_folder(image_folder)
    assert images.class_names == ["alpha", "beta", "gamma"]
    assert len(images) == 24
    assert images.counts() == {"alpha": 8, "beta": 8, "gamma": 8}
    assert set(np.unique(images.labels)) == {0, 1, 2}


def test_bad_files_are_skipped_with_one_warning(image_folder, caplog):
    (image_folder / "alpha" / "empty.jpg").write_bytes(b"")
    (image_folder / "beta" / "notes.txt").write_text("not an image")
    (image_folder / "beta" / "fake.png").write_text("this is text, not a PNG")
    good = (image_folder / "gamma" / "gamma_000.png").read_bytes()
    (image_folder / "gamma" / "truncated.png").write_bytes(good[: len(good) // 2])
    (image_folder / "gamma" / ".hidden.png").write_bytes(b"")  # hidden files are ignored
    with caplog.at_level("WARNING", logger="kerascenes"):
        images = load_image_folder(image_folder)
    assert len(images) == 24
    reasons = dict(images.skipped)
    assert set(map(lambda p: p.split("/")[-1], reasons)) == {"empty.jpg", "notes.txt", "fake.png", "truncated.png"}
    assert any("0 bytes" in r for r in reasons.values())
    assert any("truncated" in r or "corrupt" in r for r in reasons.values())
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "4 unusable" in warnings[0].getMessage()


def test_strict_refuses_bad_files(image_folder):
    (image_folder / "alpha" / "empty.jpg").write_bytes(b"")
    with pytest.raises(KerascenesError, match="unusable file.*empty.jpg.*--strict"):
        load_image_folder(image_folder, strict=True)


def test_empty_class_folder_is_an_error(image_folder):
    (image_folder / "delta").mkdir()
    with pytest.raises(KerascenesError, match="empty class folder.*delta"):
        scan_image_folder(image_folder)


def test_missing_or_flat_folder_errors(tmp_path):
    with pytest.raises(KerascenesError, match="does not exist"):
        scan_image_folder(tmp_path / "nope")
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("L", (8, 8)).save(flat / "a.png")
    with pytest.raises(KerascenesError, match="no class sub-folders.*move them"):
        scan_image_folder(flat)


def test_mismatched_classes_between_train_and_val(tmp_path):
    train = load_image_folder(write_image_folder(tmp_path / "t", classes=("a", "b", "c"), per_class=2))
    val = load_image_folder(write_image_folder(tmp_path / "v", classes=("a", "b", "d"), per_class=2))
    with pytest.raises(KerascenesError, match="missing c; unknown d"):
        check_same_classes(train, val)
    with pytest.raises(KerascenesError, match="not trained on"):
        align_classes(val, train.class_names)
    subset = load_image_folder(write_image_folder(tmp_path / "s", classes=("c",), per_class=2))
    aligned = align_classes(subset, train.class_names)
    assert list(aligned.labels) == [2, 2]


def test_stratified_split_is_seeded_and_keeps_proportions(tmp_path):
    images = load_image_folder(write_image_folder(tmp_path / "d", per_class=10))
    train, val = stratified_split(images, 0.2, seed=3)
    assert val.counts() == {"alpha": 2, "beta": 2, "gamma": 2}
    assert train.counts() == {"alpha": 8, "beta": 8, "gamma": 8}
    assert not set(train.paths) & set(val.paths)
    again_train, again_val = stratified_split(images, 0.2, seed=3)
    assert again_val.paths == val.paths
    other = stratified_split(images, 0.2, seed=4)[1]
    assert other.paths != val.paths
    with pytest.raises(KerascenesError, match="--val-split"):
        stratified_split(images, 1.5)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "I;16", "LA", "RGB", "1"])
def test_every_image_mode_becomes_rgb(tmp_path, mode):
    rng = np.random.default_rng(0)
    base = Image.fromarray(rng.integers(0, 255, (30, 20, 3), dtype=np.uint8), "RGB")
    if mode == "I;16":
        image = Image.fromarray((rng.integers(0, 65535, (30, 20))).astype(np.uint16))
        ext = ".png"
    else:
        image = base.convert(mode)
        ext = ".tif" if mode == "CMYK" else ".png"
    path = tmp_path / f"img{ext}"
    image.save(path)
    assert check_image(path) is None
    array = load_image(path, 16)
    assert array.shape == (16, 16, 3) and array.dtype == np.uint8
    assert load_image(path).shape == (30, 20, 3)


def test_sixteen_bit_values_are_scaled_not_clipped(tmp_path):
    image = Image.fromarray(np.full((4, 4), 65535 // 2, np.uint16))
    image.save(tmp_path / "a.png")
    value = load_image(tmp_path / "a.png")[0, 0, 0]
    assert 120 <= value <= 135


def test_grayscale_fast_path_matches_rgb_conversion(tmp_path):
    gray = Image.fromarray(np.random.default_rng(0).integers(0, 256, (37, 53), dtype=np.uint8), mode="L")
    gray.save(tmp_path / "g.png")
    gray.convert("RGB").save(tmp_path / "rgb.png")
    for size in (None, 24, (20, 31)):
        np.testing.assert_array_equal(load_image(tmp_path / "g.png", size), load_image(tmp_path / "rgb.png", size))
