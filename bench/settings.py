"""What each mode of bench/run.py measures, and how much.

"warmup" and "examples" count images (50,000 = one MNIST epoch); the per-example
reference times a random subset and scales it to an epoch. "budget" caps the seconds of
timed passes per process (see worker_train.py). "block" is the length in seconds of each
block of calls the micro-measurements time (worker_micro.py). "threads" are the thread
settings of the peers, "nnbp_threads" nnbp's (its shipped choice, "default", and 1 and 2
forced, to set beside the floor), "floor_threads" those of the floor. "engine" is the
comparison with a past revision of nnbp (bench/engine.py): the networks it times, how
many new/old pairs of processes per network and round, the networks also timed in
float64 (one pair per round), the seconds per network and round of epochs paired in one
process (bench/worker_pair.py), and the steps after which the two engines' weights are
compared. "estimate" holds the typical wall seconds of one process of each kind, for the
duration bench/run.py prints before it starts (bench/plan.py).
"""

from __future__ import annotations

S30, S100, S800, TINY = (784, 30, 10), (784, 100, 10), (784, 800, 10), (784, 8, 10)
# (sizes, mini-batch size m) of every training measurement; (S800, 10) is the network
# and mini-batch of configs/best.yaml.
CONFIGS = [(S30, 10), (S30, 100), (S100, 10), (S100, 100), (S800, 10)]
# The engine comparison keeps the four smaller networks: it is optional, and the large
# one would add about a minute per round.
ENGINE_CONFIGS = CONFIGS[:4]
# The configuration whose epoch is bound by its matrix products: the bench also times
# those products with NumPy's BLAS and with torch's, at both thread settings.
GEMM_BOUND = (S100, 100)
PEERS = ["reference", "torch-manual", "torch-idiomatic", "sklearn"]

# The BLAS kernels: "default" is the environment as it is (OPENBLAS_CORETYPE is never set
# or unset for it); "avx2" adds what makes OpenBLAS, MKL and torch's own vectorised code
# run what an AVX2-only machine runs, so that a machine with AVX-512 also shows the
# figures of a common one.
KERNELS: dict[str, dict[str, str]] = {
    "default": {},
    "avx2": {
        "OPENBLAS_CORETYPE": "Haswell",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
    },
}
# The implementations timed under every kernel; the other peers run the default one only.
KERNEL_IMPLS = ("nnbp", "torch-manual")
# Where the report's Targets table draws its lines: nnbp as shipped ÷ torch-manual, at
# mini-batch 10 and elsewhere; nnbp ÷ the realistic floor at the same thread count.
TARGETS = {"torch_m10": 0.55, "torch": 1.00, "floor": 1.15}

SETTINGS = {
    "full": {
        "data": "mnist",
        "rounds": 3,
        "configs": CONFIGS,
        "threads": ["1", "default"],
        "nnbp_threads": ["1", "2", "default"],
        "floor_threads": ["1", "2"],
        "gemm_bound": GEMM_BOUND,
        "train": {"epochs": 3, "warmup": 10_000, "examples": 50_000, "budget": 6.0},
        "reference": {"epochs": 2, "warmup": 1_000, "examples": 10_000, "budget": 6.0},
        "block": 0.04,
        "cli_repeats": 5,
        "engine": {
            "configs": ENGINE_CONFIGS,
            "pairs": 1,
            "float64": [(S30, 10), (S100, 100)],
            "budget": 15.0,
        },
        "weight_steps": 300,
        # From the process wall times of earlier full runs on a 2-core machine.
        "estimate": {
            "training": 5.5,
            "floors": 2.0,
            "micro": 2.2,
            "engine": 2.3,
            "paired": 19,
            "weights": 1.5,
            "cli": 10,
        },
    },
    "quick": {
        "data": "mnist",
        "rounds": 1,
        "configs": CONFIGS,
        "threads": ["1", "default"],
        "nnbp_threads": ["1", "2", "default"],
        "floor_threads": ["1", "2"],
        "gemm_bound": GEMM_BOUND,
        "train": {"epochs": 1, "warmup": 2_000, "examples": 50_000, "budget": 1.0},
        "reference": {"epochs": 1, "warmup": 500, "examples": 2_000, "budget": 1.0},
        "block": 0.02,
        "cli_repeats": 3,
        "engine": {"configs": [(S30, 10), (S100, 100)], "pairs": 1, "float64": [], "budget": 3.0},
        "weight_steps": 300,
        "estimate": {
            "training": 2.5,
            "floors": 1.2,
            "micro": 1.8,
            "engine": 1.5,
            "paired": 6,
            "weights": 1.5,
            "cli": 8,
        },
    },
    # A few seconds, no download: synthetic data, a tiny network, every code path once
    # (both kernels, the floor at 1 and 2 threads and nnbp beside it).
    "smoke": {
        "data": "synthetic",
        "rounds": 1,
        "configs": [(TINY, 10)],
        "threads": ["default"],
        "nnbp_threads": ["1", "2", "default"],
        "floor_threads": ["1", "2"],
        "gemm_bound": (TINY, 10),
        "train": {"epochs": 1, "warmup": 200, "examples": 2_000, "budget": 0.3},
        "reference": {"epochs": 1, "warmup": 100, "examples": 300, "budget": 0.3},
        "block": 0.001,
        "cli_repeats": 0,
        "engine": {"configs": [(TINY, 10)], "pairs": 1, "float64": [(TINY, 10)], "budget": 0.2},
        "weight_steps": 30,
        "estimate": {
            "training": 1.0,
            "floors": 0.4,
            "micro": 0.8,
            "engine": 0.8,
            "paired": 1.5,
            "weights": 0.8,
        },
    },
}
