"""What each mode of bench/run.py measures, and how much.

"warmup" and "examples" count images (50,000 = one MNIST epoch); the per-example
reference times a random subset and scales it to an epoch. "budget" caps the seconds of
timed passes per process (see worker_train.py). "block" is the length in seconds of each
block of calls the micro-measurements time (worker_micro.py). "engine" is the comparison
with a past revision of nnbp (bench/engine.py): the networks it times, how many
new/old pairs of processes per network and round, the networks also timed in float64
(one pair per round), the seconds per network and round of epochs paired in one process
(bench/worker_pair.py), and the steps after which the two engines' weights are compared.
"""

from __future__ import annotations

S30, S100, TINY = (784, 30, 10), (784, 100, 10), (784, 8, 10)
# (sizes, mini-batch size m) of every training measurement
CONFIGS = [(S30, 10), (S30, 100), (S100, 10), (S100, 100)]
# The configuration whose epoch is bound by its matrix products: the bench also times
# those products with NumPy's BLAS and with torch's, at both thread settings.
GEMM_BOUND = (S100, 100)
PEERS = ["reference", "torch-manual", "torch-idiomatic", "sklearn"]

SETTINGS = {
    "full": {
        "data": "mnist",
        "rounds": 5,
        "configs": CONFIGS,
        "threads": ["1", "default"],
        "gemm_bound": GEMM_BOUND,
        "train": {"epochs": 3, "warmup": 10_000, "examples": 50_000, "budget": 6.0},
        "reference": {"epochs": 2, "warmup": 1_000, "examples": 10_000, "budget": 6.0},
        "block": 0.04,
        "cli_repeats": 5,
        "engine": {
            "configs": CONFIGS,
            "pairs": 1,
            "float64": [(S30, 10), (S100, 100)],
            "budget": 15.0,
        },
        "weight_steps": 300,
    },
    "quick": {
        "data": "mnist",
        "rounds": 1,
        "configs": CONFIGS,
        "threads": ["1", "default"],
        "gemm_bound": GEMM_BOUND,
        "train": {"epochs": 1, "warmup": 2_000, "examples": 50_000, "budget": 1.0},
        "reference": {"epochs": 1, "warmup": 500, "examples": 2_000, "budget": 1.0},
        "block": 0.02,
        "cli_repeats": 3,
        "engine": {"configs": [(S30, 10), (S100, 100)], "pairs": 1, "float64": [], "budget": 3.0},
        "weight_steps": 300,
    },
    # A few seconds, no download: synthetic data, a tiny network, every code path once.
    "smoke": {
        "data": "synthetic",
        "rounds": 1,
        "configs": [(TINY, 10)],
        "threads": ["default"],
        "gemm_bound": (TINY, 10),
        "train": {"epochs": 1, "warmup": 200, "examples": 2_000, "budget": 0.3},
        "reference": {"epochs": 1, "warmup": 100, "examples": 300, "budget": 0.3},
        "block": 0.001,
        "cli_repeats": 0,
        "engine": {"configs": [(TINY, 10)], "pairs": 1, "float64": [(TINY, 10)], "budget": 0.2},
        "weight_steps": 30,
    },
}
