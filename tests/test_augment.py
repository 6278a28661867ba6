"""Tests of nnbp.augment: shapes and ranges, reproducibility, and each transform's geometry
checked against an independent reference (np.pad slices, np.rot90, np.convolve, a loop)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbp import augment as aug
from nnbp.errors import ConfigError

SHAPE = (28, 28)
KINDS = list(aug.AUGMENTATIONS)


def noise(n: int, shape: tuple[int, int] = SHAPE, dtype=np.float64, seed: int = 0) -> np.ndarray:
    """(n, rows * cols) uniform noise in [0, 1): every shift of it is tell-apart."""
    return np.random.default_rng(seed).random((n, shape[0] * shape[1])).astype(dtype)


def stroke(n: int = 1, dtype=np.float64) -> np.ndarray:
    """(n, 784) copies of a digit-like "7": two thick strokes in a blank 28x28 image."""
    img = np.zeros(SHAPE)
    img[6:10, 8:21] = 1.0  # the bar
    img[10:23, 15:19] = 1.0  # the stem
    return np.tile(img.reshape(1, -1), (n, 1)).astype(dtype)


def shifted(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Reference shift of one (r, c) image by (dy, dx), zero fill: a slice of a padded copy."""
    r, c = img.shape
    p = max(abs(dy), abs(dx))
    padded = np.pad(img, p)
    return padded[p - dy : p - dy + r, p - dx : p - dx + c]


def centre_of_mass(x: np.ndarray) -> np.ndarray:
    """(n, 2) ink-weighted mean (row, col) of rows of 28x28 images."""
    rows, cols = np.indices(SHAPE).reshape(2, -1)
    ink = x.sum(axis=1)
    return np.stack([x @ rows / ink, x @ cols / ink], axis=1)


# --- every kind ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_shape_dtype_range_kept_and_input_untouched(kind, dtype):
    x = noise(70, dtype=dtype)  # two chunks of 41 images (the last one partial)
    before = x.copy()
    y = aug.AUGMENTATIONS[kind](x, SHAPE, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == dtype and y is not x
    assert y.min() >= 0 and y.max() <= 1
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_batch_gives_an_empty_batch(kind):
    y = aug.AUGMENTATIONS[kind](np.zeros((0, 784), np.float32), SHAPE, np.random.default_rng(0))
    assert y.shape == (0, 784) and y.dtype == np.float32


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_output_other_seed_different(kind):
    x = stroke(5)
    f = aug.AUGMENTATIONS[kind]
    a = f(x, SHAPE, np.random.default_rng(42))
    np.testing.assert_array_equal(a, f(x, SHAPE, np.random.default_rng(42)))
    assert not np.array_equal(a, f(x, SHAPE, np.random.default_rng(43)))


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    n=st.integers(1, 5),
    rows=st.integers(4, 12),
    cols=st.integers(4, 12),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_small_batch_keeps_shape_dtype_and_range(kind, n, rows, cols, dtype, seed):
    x = noise(n, (rows, cols), dtype, seed)
    before = x.copy()
    y = aug.AUGMENTATIONS[kind](x, (rows, cols), np.random.default_rng(seed))
    assert y.shape == (n, rows * cols) and y.dtype == dtype
    assert np.all((y >= 0) & (y <= 1))
    np.testing.assert_array_equal(x, before)


# --- shift -----------------------------------------------------------------------------------


def test_shift_moves_each_image_by_one_of_the_nine_offsets():
    n = 1100  # over one shift chunk of 1000 images
    x = noise(n)
    y = aug.shift(x, SHAPE, np.random.default_rng(3))
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    found = []
    for img, out in zip(x.reshape(n, *SHAPE), y.reshape(n, *SHAPE), strict=True):
        matches = [o for o in offsets if np.array_equal(out, shifted(img, *o))]
        assert len(matches) == 1
        found.append(matches[0])
    # Uniform over the nine offsets: each one turns up, about n / 9 = 122 times.
    counts = [found.count(o) for o in offsets]
    assert min(counts) > 70 and max(counts) < 180


def test_shift_max_shift_0_is_identity_and_2_stays_within_2():
    x = noise(30)
    np.testing.assert_array_equal(aug.shift(x, SHAPE, np.random.default_rng(0), max_shift=0), x)
    y = aug.shift(x, SHAPE, np.random.default_rng(0), max_shift=2).reshape(30, *SHAPE)
    within = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    for img, out in zip(x.reshape(30, *SHAPE), y, strict=True):
        assert any(np.array_equal(out, shifted(img, *o)) for o in within)


def test_shift_keeps_the_ink_of_images_with_a_blank_border():
    x = stroke(50)
    y = aug.shift(x, SHAPE, np.random.default_rng(5))
    np.testing.assert_allclose(y.sum(axis=1), x.sum(axis=1))


# --- the bilinear sampler and affine ---------------------------------------------------------


def bilinear_reference(img: np.ndarray, y: float, x: float) -> float:
    """Bilinear value of one (r, c) image at (y, x), 0 outside: the textbook formula."""

    def pixel(i: int, j: int) -> float:
        inside = 0 <= i < img.shape[0] and 0 <= j < img.shape[1]
        return float(img[i, j]) if inside else 0.0

    i, j = int(np.floor(y)), int(np.floor(x))
    fy, fx = y - i, x - j
    return (
        (1 - fy) * (1 - fx) * pixel(i, j)
        + (1 - fy) * fx * pixel(i, j + 1)
        + fy * (1 - fx) * pixel(i + 1, j)
        + fy * fx * pixel(i + 1, j + 1)
    )


def test_bilinear_matches_the_formula_inside_near_and_far_outside():
    rng = np.random.default_rng(7)
    images = rng.random((3, 5, 6))
    ys = rng.uniform(-3, 8, (3, 5, 6))
    xs = rng.uniform(-3, 9, (3, 5, 6))
    out = aug._bilinear(images, ys, xs)
    expected = [
        bilinear_reference(images[k], ys[k, i, j], xs[k, i, j]) for k, i, j in np.ndindex(out.shape)
    ]
    np.testing.assert_allclose(out.ravel(), expected, atol=1e-12)


def test_affine_with_zero_ranges_is_the_identity():
    for dtype in (np.float32, np.float64):
        x = noise(150, dtype=dtype)  # several chunks, the last one partial
        y = aug.affine(x, SHAPE, np.random.default_rng(0), rotate=0, shift=0, scale=0)
        np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("dy, dx", [(0, 0), (3, -2), (-5, 4), (1, 1), (20, 0)])
def test_warp_affine_whole_translation_moves_a_bright_pixel_exactly(dy, dx):
    img = np.zeros((1, *SHAPE), np.float32)
    img[0, 10, 12] = 1.0
    out = aug._warp_affine(img, np.eye(2)[None], np.array([[-dy, -dx]], float))
    expected = np.zeros_like(img)
    if 10 + dy < 28 and 12 + dx < 28:
        expected[0, 10 + dy, 12 + dx] = 1.0
    np.testing.assert_array_equal(out, expected)


def test_inverse_maps_move_is_a_forward_translation():
    img = np.zeros((1, *SHAPE))
    img[0, 10, 12] = 1.0
    maps = aug._inverse_maps(np.array([0.0]), np.array([1.0]), np.array([[3.0, -2.0]]), SHAPE)
    out = aug._warp_affine(img, *maps)
    assert np.unravel_index(out.argmax(), out.shape) == (0, 13, 10)
    assert out.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2)])
@pytest.mark.parametrize("side", [7, 28])
def test_rotation_by_right_angles_matches_rot90(angle, k, side):
    img = noise(1, (side, side), np.float32).reshape(1, side, side)
    maps = aug._inverse_maps(np.array([angle]), np.array([1.0]), np.zeros((1, 2)), (side, side))
    np.testing.assert_allclose(aug._warp_affine(img, *maps)[0], np.rot90(img[0], k), atol=1e-5)


def test_affine_scaling_about_the_centre_spreads_a_centred_square():
    img = np.zeros((1, 9, 9))
    img[0, 3:6, 3:6] = 1.0  # 3x3 square about the centre (4, 4)
    maps = aug._inverse_maps(np.array([0.0]), np.array([2.0]), np.zeros((1, 2)), (9, 9))
    out = aug._warp_affine(img, *maps)[0]
    # Doubled about (4, 4): the samples land at 4 + (p - 4) / 2, inside the square for
    # p in 1..7 (half-weight at 1 and 7, where they fall between rows 2 and 3).
    assert out[4, 4] == 1.0 and out[2, 4] == 1.0 and out[1, 4] == 0.5 and out[0, 4] == 0
    assert out.sum() == pytest.approx(4 * 9, rel=0.25)


def test_affine_defaults_keep_the_digit_roughly_in_place():
    x = stroke(40)
    y = aug.affine(x, SHAPE, np.random.default_rng(11))
    ratio = y.sum(axis=1) / x.sum(axis=1)
    assert np.all((ratio > 0.75) & (ratio < 1.3))
    assert np.all(np.linalg.norm(centre_of_mass(y) - centre_of_mass(x), axis=1) < 4)


# --- elastic ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size, sigma", [(28, 4.0), (12, 1.5), (5, 4.0)])
def test_smoothing_matrix_equals_convolution_of_a_zero_padded_signal(size, sigma):
    radius = int(np.ceil(3 * sigma))
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    v = np.random.default_rng(0).random(size)
    expected = np.convolve(np.pad(v, radius), kernel, mode="valid")
    np.testing.assert_allclose(aug._smoothing_matrix(size, sigma) @ v, expected, atol=1e-12)


def test_elastic_with_alpha_0_is_the_identity():
    for dtype in (np.float32, np.float64):
        x = noise(150, dtype=dtype)
        np.testing.assert_array_equal(aug.elastic(x, SHAPE, np.random.default_rng(0), alpha=0), x)


def test_elastic_defaults_distort_but_keep_the_digit():
    x = stroke(200)
    y = aug.elastic(x, SHAPE, np.random.default_rng(12))
    # It does distort: on average a good part of the ink moves.
    assert np.abs(y - x).sum(axis=1).mean() > 0.3 * x[0].sum()
    # Local stretching and squeezing change each image's ink (the displacements'
    # gradients have a spread of about 0.25), but not on average, and seldom by 30%.
    change = abs(y.sum(axis=1) / x.sum(axis=1) - 1)
    assert abs(np.mean(y.sum(axis=1) / x.sum(axis=1)) - 1) < 0.05
    assert np.median(change) < 0.15 and np.quantile(change, 0.9) < 0.35
    # The digit stays where it was, give or take a pixel or two.
    moved = np.linalg.norm(centre_of_mass(y) - centre_of_mass(x), axis=1)
    assert np.median(moved) < 2 and np.quantile(moved, 0.95) < 3.5 and moved.max() < 6


# --- augment: the table, parameter routing, errors -------------------------------------------


def test_augment_applies_kinds_in_order_from_one_rng():
    x = stroke(4)
    rng = np.random.default_rng(9)
    expected = aug.elastic(aug.shift(x, SHAPE, rng, max_shift=2), SHAPE, rng, sigma=3.0)
    got = aug.augment(
        x,
        SHAPE,
        np.random.default_rng(9),
        ["shift", "elastic"],
        shift={"max_shift": 2},
        elastic={"sigma": 3.0},
    )
    np.testing.assert_array_equal(got, expected)


def test_augment_routes_params_by_kind_and_ignores_entries_for_kinds_not_chosen():
    x = noise(3)
    zero = {"rotate": 0, "shift": 0, "scale": 0}
    y = aug.augment(x, SHAPE, np.random.default_rng(0), ("affine",), affine=zero, elastic={})
    np.testing.assert_array_equal(y, x)


def test_augment_with_no_kinds_returns_x():
    x = noise(2)
    assert aug.augment(x, SHAPE, np.random.default_rng(0), []) is x


@pytest.mark.parametrize(
    "kinds, params, message",
    [
        (["elastc"], {}, "unknown augmentation 'elastc'; did you mean 'elastic'?"),
        (["shift"], {"rotate": {}}, "unknown augmentation 'rotate'; expected one of shift"),
        (["affine"], {"affine": {"rotation": 5}}, "did you mean 'affine.rotate'?"),
        (["affine"], {"affine": {"scale": 1.5}}, "affine.scale: expected a number in [0, 1)"),
        (["shift"], {"shift": {"max_shift": 1.5}}, "shift.max_shift: expected an integer >= 0"),
        (["elastic"], {"elastic": {"sigma": 0}}, "elastic.sigma: expected a number of pixels > 0"),
    ],
)
def test_augment_rejects_unknown_names_and_bad_values(kinds, params, message):
    with pytest.raises(ConfigError) as e:
        aug.augment(noise(1), SHAPE, np.random.default_rng(0), kinds, **params)
    assert message in str(e.value)


def test_bad_arrays_and_a_bare_string_of_kinds_are_programming_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"shape \(n, 784\)"):
        aug.shift(noise(2, (4, 4)), SHAPE, rng)
    with pytest.raises(ValueError, match="float32 or float64"):
        aug.shift(np.zeros((2, 784), np.uint8), SHAPE, rng)
    with pytest.raises(TypeError, match="list of names"):
        aug.augment(noise(1), SHAPE, rng, "shift")


def test_flip_mirrors_left_to_right_with_probability_p():
    rng = np.random.default_rng(0)
    x = rng.random((400, 12)).astype(np.float32)
    out = aug.augment(x, (3, 4), np.random.default_rng(1), ["flip"])
    images, flipped = x.reshape(-1, 3, 4), out.reshape(-1, 3, 4)
    mirrored = np.array(
        [np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images, strict=True)]
    )
    same = np.array([np.array_equal(f, i) for f, i in zip(flipped, images, strict=True)])
    assert (mirrored | same).all() and 150 < mirrored.sum() < 250  # p = 0.5
    never = aug.augment(x, (3, 4), rng, ["flip"], flip={"p": 0.0})
    always = aug.augment(x, (3, 4), rng, ["flip"], flip={"p": 1.0})
    np.testing.assert_array_equal(never, x)
    np.testing.assert_array_equal(always.reshape(-1, 3, 4), images[:, :, ::-1])
    with pytest.raises(ConfigError, match=r"flip.p: expected a number in \[0, 1\], got 2"):
        aug.augment(x, (3, 4), rng, ["flip"], flip={"p": 2})
