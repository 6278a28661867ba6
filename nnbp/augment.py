"""Data augmentation: random distortions of the training images, drawn afresh each epoch.

Each kind maps a batch of images to one of the same shape, so labels stay valid: ``shift``
(the book's chapter-3 whole-pixel displacements), ``affine`` (small random rotations,
scalings and translations) and ``elastic`` (Simard, Steinkraus and Platt 2003).

Images are rows of pixels: ``x`` has shape (n, rows * cols), float32 or float64 in
[0, 1], and ``image_shape`` is (rows, cols). Results are new arrays of x's shape and
dtype, clipped to [0, 1]; x is never written to. Every random number comes from the
``rng`` argument, so one seed gives one augmented data set. Pixel (i, j) sits at the
point (row i, column j), rows pointing down; the centre is ((rows-1)/2, (cols-1)/2).
Work is vectorised over the batch and done a chunk of images at a time, so temporaries
stay small whatever the size of the training set. No I/O and no printing here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np

from nnbp.errors import ConfigError, closest

# Bytes per temporary when resampling, at 8 bytes a pixel (int64 indices): 41 MNIST
# images. Measured: up to ~300 kB a temporary, malloc reuses the memory chunk after chunk;
# from ~400 kB it returns it to the system and each chunk page-faults it in, 3-4x slower.
_CHUNK_BYTES = 1 << 18
# ``shift`` only copies slices, one per distinct offset in a chunk, so larger chunks
# amortise that loop; its temporaries are at most one chunk's copy (3 MB for MNIST).
_SHIFT_CHUNK = 1000


def _as_images(x: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """x (n, rows * cols), float32 or float64 -> a view (n, rows, cols); ValueError if not."""
    rows, cols = image_shape
    if x.ndim != 2 or x.shape[1] != rows * cols:
        raise ValueError(f"expected images of shape (n, {rows * cols}), got {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"expected float32 or float64 images, got {x.dtype}")
    return x.reshape(len(x), rows, cols)


def _require(ok: bool, name: str, expected: str, value: object) -> None:
    """Raise ConfigError naming the parameter when ``ok`` is false (values come from config)."""
    if not ok:
        raise ConfigError(f"{name}: expected {expected}, got {value!r}")


def _map_chunks(
    images: np.ndarray, warp: Callable[[np.ndarray, slice], np.ndarray], chunk: int = 0
) -> np.ndarray:
    """Rows (n, r * c), clipped to [0, 1], of ``warp(images[part], part)`` (m, r, c) per chunk.

    images: (n, r, c). ``part``, the chunk's slice, indexes parameters drawn beforehand.
    ``chunk`` images at a time, or (0) as many as ``_CHUNK_BYTES`` allows.
    """
    n, r, c = images.shape
    chunk = chunk or max(1, _CHUNK_BYTES // (8 * r * c))
    out = np.empty_like(images)
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        out[part] = warp(images[part], part)
    np.clip(out, 0, 1, out=out)
    return out.reshape(n, r * c)


def _bilinear(images: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Each image sampled at real points by bilinear interpolation, zero outside the image.

    images: (n, r, c) float; ys, xs: (n, r, c) row and column coordinates, best in the
    images' dtype. Returns (n, r, c) in the images' dtype: ``out[k, i, j]`` is image k at
    (ys[k, i, j], xs[k, i, j]), where the image is 0 beyond its edges (a point less than a
    pixel outside blends the edge with 0). At whole coordinates it is exactly that pixel.
    """
    n, r, c = images.shape
    # One zero row/column before the image and two after: a point clipped to [-1, r] x
    # [-1, c] has its four neighbours inside, and one clipped onto the frame gets its 0.
    pr, pc = r + 3, c + 3
    padded = np.zeros((n, pr, pc), images.dtype)
    padded[:, 1 : r + 1, 1 : c + 1] = images
    # In place wherever possible: a fresh array per step costs more than the step itself.
    fy, fx = np.clip(ys, -1, r), np.clip(xs, -1, c)
    fy += 1  # padded coordinates, now >= 0
    fx += 1
    y0, x0 = np.floor(fy), np.floor(fx)
    fy -= y0  # fractional parts, in [0, 1)
    fx -= x0
    # Flat index of each top-left neighbour, exact in floating point (small whole numbers).
    y0 *= pc
    y0 += x0
    corner = y0.astype(np.intp)
    corner += (np.arange(n) * (pr * pc))[:, None, None]
    flat = padded.reshape(-1)
    top = _lerp(flat.take(corner), flat.take(corner + 1), fx)
    corner += pc  # the row below
    bottom = _lerp(flat.take(corner), flat.take(corner + 1), fx)
    return _lerp(top, bottom, fy)


def _lerp(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """a + (b - a) f, overwriting a and b: one multiply, and exactly a where a == b."""
    b -= a
    b *= f
    a += b
    return a


def shift(
    x: np.ndarray, image_shape: tuple[int, int], rng: np.random.Generator, max_shift: int = 1
) -> np.ndarray:
    """Move each image by whole pixels (dy, dx), uniform in {-max_shift..max_shift}^2.

    x: (n, rows * cols) float32/float64 in [0, 1]; returns a new array like x. Pixels
    moved in from outside are 0, pixels moved out are lost; dy > 0 moves the content
    down, dx > 0 to the right. (0, 0) is one of the outcomes.
    """
    whole = isinstance(max_shift, int | np.integer) and not isinstance(max_shift, bool)
    _require(whole and max_shift >= 0, "shift.max_shift", "an integer >= 0", max_shift)
    images = _as_images(x, image_shape)
    rows, cols = image_shape
    offsets = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))

    def warp(chunk: np.ndarray, part: slice) -> np.ndarray:
        out = np.zeros_like(chunk)
        moves = offsets[part]
        # Images grouped by offset: one slice copy per distinct (dy, dx), at most
        # (2 max_shift + 1)^2 of them, instead of a loop over images.
        for dy, dx in np.unique(moves, axis=0):
            which = np.flatnonzero((moves[:, 0] == dy) & (moves[:, 1] == dx))
            h, w = max(rows - abs(dy), 0), max(cols - abs(dx), 0)
            ty, tx, sy, sx = max(dy, 0), max(dx, 0), max(-dy, 0), max(-dx, 0)
            out[which, ty : ty + h, tx : tx + w] = chunk[which, sy : sy + h, sx : sx + w]
        return out

    return _map_chunks(images, warp, _SHIFT_CHUNK)


def flip(
    x: np.ndarray, image_shape: tuple[int, int], rng: np.random.Generator, p: float = 0.5
) -> np.ndarray:
    """Mirror each image left to right with probability ``p``.

    For pictures whose mirror image is as likely as the original (Fashion-MNIST's
    clothes), not for digits. x: (n, rows * cols); returns a new array like x.
    """
    _require(
        isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 1,
        "flip.p", "a number in [0, 1]", p,
    )  # fmt: skip
    images = _as_images(x, image_shape)
    out = images.copy()
    which = rng.random(len(images)) < p
    out[which] = images[which, :, ::-1]
    return out.reshape(x.shape)


def _inverse_maps(
    angles: np.ndarray, scales: np.ndarray, moves: np.ndarray, image_shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Matrices (n, 2, 2) and offsets (n, 2) for ``_warp_affine``, from (n,) (n,) (n, 2).

    Image k's forward map: scale by ``scales[k]`` and rotate ``angles[k]`` degrees
    anticlockwise as displayed about the centre c, then move by ``moves[k]`` (rows, cols).
    Resampling needs its inverse, p_in = c + A (p_out - c - move), A = R(-angle) / scale.
    """
    theta = np.deg2rad(angles)
    cos, sin = np.cos(theta) / scales, np.sin(theta) / scales
    # With rows pointing down, anticlockwise is [[cos, -sin], [sin, cos]] on (row, col);
    # its inverse is the transpose. 90 degrees is np.rot90.
    matrices = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    centre = (np.asarray(image_shape, dtype=float) - 1) / 2
    offsets = centre - np.einsum("kij,kj->ki", matrices, centre + moves)
    return matrices, offsets


def _warp_affine(images: np.ndarray, matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Images (n, r, c), each resampled at ``matrices[k] @ p + offsets[k]`` for pixel p.

    matrices: (n, 2, 2); offsets: (n, 2); p = (row, col). Returns (n, r, c) in the images'
    dtype. The identity matrix with offset (-dy, -dx) moves the content by (dy, dx).
    """
    dtype = images.dtype
    rows, cols = np.indices(images.shape[1:], dtype=dtype)
    m = matrices.astype(dtype)[..., None, None]  # (n, 2, 2, 1, 1): broadcasts over pixels
    o = offsets.astype(dtype)[..., None, None]
    ys = m[:, 0, 0] * rows
    ys += m[:, 0, 1] * cols + o[:, 0]
    xs = m[:, 1, 0] * rows
    xs += m[:, 1, 1] * cols + o[:, 1]
    return _bilinear(images, ys, xs)


def affine(
    x: np.ndarray,
    image_shape: tuple[int, int],
    rng: np.random.Generator,
    rotate: float = 10.0,
    shift: float = 2.0,
    scale: float = 0.1,
) -> np.ndarray:
    """Random small affine distortion of each image about its centre; bilinear, 0 outside.

    x: (n, rows * cols) float32/float64 in [0, 1]; returns a new array like x. Per image,
    uniform: an angle in [-rotate, rotate] degrees, a scale factor in [1 - scale,
    1 + scale], a move in [-shift, shift] pixels along each axis. All 0: the identity.
    """
    _require(rotate >= 0, "affine.rotate", "a number of degrees >= 0", rotate)
    _require(shift >= 0, "affine.shift", "a number of pixels >= 0", shift)
    _require(0 <= scale < 1, "affine.scale", "a number in [0, 1)", scale)
    images = _as_images(x, image_shape)
    n = len(images)
    angles = rng.uniform(-rotate, rotate, n)
    scales = rng.uniform(1 - scale, 1 + scale, n)
    moves = rng.uniform(-shift, shift, (n, 2))
    matrices, offsets = _inverse_maps(angles, scales, moves, image_shape)
    return _map_chunks(
        images, lambda chunk, part: _warp_affine(chunk, matrices[part], offsets[part])
    )


def _smoothing_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) float64 G: G @ v is v smoothed by a Gaussian of std sigma, zero padded.

    The kernel is cut at radius ceil(3 sigma) and normalised to sum 1; taps beyond an edge
    meet zeros, so rows near an edge sum to less. Zero padding, not reflection: smoothed
    noise keeps its strength within 3% up to 4 pixels from the edge (MNIST's digit box),
    fading only in the blank border, where reflection would make it up to 1.4x stronger.
    """
    radius = int(np.ceil(3 * sigma))
    kernel_sum = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()
    gap = np.arange(size)[None, :] - np.arange(size)[:, None]  # source - target index
    return np.where(abs(gap) <= radius, np.exp(-0.5 * (gap / sigma) ** 2), 0) / kernel_sum


def elastic(
    x: np.ndarray,
    image_shape: tuple[int, int],
    rng: np.random.Generator,
    alpha: float = 34.0,
    sigma: float = 4.0,
) -> np.ndarray:
    """Elastic distortion (Simard et al. 2003) of each image; bilinear, 0 outside.

    x: (n, rows * cols) float32/float64 in [0, 1]; returns a new array like x. Per image,
    fields dy, dx uniform in [-1, 1] at each pixel are smoothed by a Gaussian of std
    ``sigma`` pixels (separable, cut at 3 sigma, zero padded), scaled by ``alpha``, and
    the image is resampled at (y + dy, x + dx). With the defaults the displacements have
    a standard deviation of about 1.4 pixels (less near the edges); alpha = 0 is the
    identity. The fields are drawn chunk by chunk, in the images' dtype.
    """
    _require(alpha >= 0, "elastic.alpha", "a number >= 0", alpha)
    _require(sigma > 0, "elastic.sigma", "a number of pixels > 0", sigma)
    images = _as_images(x, image_shape)
    rows, cols = image_shape
    dtype = images.dtype
    # Smoothing is linear: for u uniform in [0, 1), alpha * smooth(2u - 1) =
    # smooth(2 alpha u) - alpha * smooth(1). So 2 alpha goes into the column matrix and
    # the constant into the pixel grid; both passes of the separable filter are matrix
    # products (BLAS) rather than 2 x 25 shifted adds.
    g_rows, g_cols = _smoothing_matrix(rows, sigma), _smoothing_matrix(cols, sigma)
    smooth_one = np.outer(g_rows.sum(axis=1), g_cols.sum(axis=1))  # smooth(1): 1 inside
    grid_y, grid_x = (np.indices(image_shape) - alpha * smooth_one).astype(dtype)
    g_rows, g_cols_t = g_rows.astype(dtype), (2 * alpha * g_cols.T).astype(dtype)

    def field(m: int) -> np.ndarray:
        """m smoothed fields (m, rows, cols): the column pass as one BLAS product, then rows."""
        u = rng.random((m * rows, cols), dtype=dtype)
        return g_rows @ (u @ g_cols_t).reshape(m, rows, cols)

    def warp(chunk: np.ndarray, part: slice) -> np.ndarray:
        ys = field(len(chunk)) + grid_y  # dy drawn before dx: a fixed order of draws
        return _bilinear(chunk, ys, field(len(chunk)) + grid_x)

    return _map_chunks(images, warp)


# Dispatch table: a config's list of names selects the functions.
AUGMENTATIONS = {"shift": shift, "flip": flip, "affine": affine, "elastic": elastic}


def _unknown(what: str, name: str, known: Sequence[str]) -> ConfigError:
    """ConfigError for an unknown name, with a did-you-mean suggestion when one is close."""
    guess = closest(name, known)
    hint = f"did you mean {guess!r}?" if guess else f"expected one of {', '.join(known)}"
    return ConfigError(f"unknown {what} {name!r}; {hint}")


def augment(
    x: np.ndarray,
    image_shape: tuple[int, int],
    rng: np.random.Generator,
    kinds: list[str] | tuple[str, ...],
    **params: dict[str, float],
) -> np.ndarray:
    """Apply the augmentations named in ``kinds`` in order, each with its own parameters.

    x: (n, rows * cols) float32/float64 in [0, 1]. Returns an array like x, in [0, 1];
    with ``kinds`` empty, x itself. ``params`` maps a kind to its function's keyword
    arguments, so a config section passes straight through, e.g.
    ``augment(x, (28, 28), rng, ["shift", "elastic"], elastic={"alpha": 30.0})`` or
    ``augment(x, shape, rng, kinds, **{"affine": {"rotate": 10}})``. A kind without an
    entry keeps its defaults; an entry for a known kind not in ``kinds`` is ignored (a
    config may keep settings for a kind switched off). Unknown kind or parameter names
    raise ConfigError with a suggestion.
    """
    if isinstance(kinds, str):
        raise TypeError(f"kinds must be a list of names, got the string {kinds!r}")
    for kind in [*kinds, *params]:
        if kind not in AUGMENTATIONS:
            raise _unknown("augmentation", kind, list(AUGMENTATIONS))
    for kind, kwargs in params.items():
        # The tunable parameters are those after (x, image_shape, rng).
        allowed = [f"{kind}.{p}" for p in inspect.signature(AUGMENTATIONS[kind]).parameters][3:]
        for key in kwargs:
            if f"{kind}.{key}" not in allowed:
                raise _unknown("augmentation parameter", f"{kind}.{key}", allowed)
    for kind in kinds:
        x = AUGMENTATIONS[kind](x, image_shape, rng, **params.get(kind, {}))
    return x
