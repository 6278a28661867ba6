"""The Method section of docs/BENCHMARKS.md: how every figure was measured."""

from __future__ import annotations

from typing import Any

from report import CALLS_PER_STEP
from settings import KERNELS


def _avx2_env() -> str:
    return " and ".join(f"`{k}={v}`" for k, v in KERNELS["avx2"].items())


def _data_text(results: dict[str, Any]) -> str:
    c = results["counts"]
    if c["data"] != "mnist":
        return f"synthetic images ({c['train']:,} training, {c['test']:,} test; --smoke)"
    return (
        '`nnbp.datasets.load("mnist")`, pixels / 255 as float32: the first'
        f" {c['train']:,} training images (the last 10,000, the book's validation set, are"
        f" not used) and the {c['test']:,} test images"
    )


def _timing(results: dict[str, Any]) -> str:
    tr = results["settings"]["train"]
    return f"""\
- Each number is from a fresh process (`bench/worker_train.py`, `bench/worker_micro.py`)
  started by `bench/run.py`, which loads the data once ({_data_text(results)}) and hands
  the same arrays to every worker. Same network everywhere: [784, hidden, 10], sigmoid
  neurons, plain SGD with a fresh shuffle each epoch, eta 3.0, quadratic cost (sklearn
  excepted, below), float32 (the reference excepted).
- nnbp is timed through its engine's entry point: `Network.create(sizes, rng,
  dtype="float32")`, one `nnbp.sgd.SGD(net, eta=3.0, n_train=50_000)` kept across
  epochs, and `SGD.epoch(x1, y, m, rng)` on the training rows with their column of ones
  (`nnbp.network.with_ones`) and one-hot label rows.
- A training measurement warms up on 1,000 images, then on up to {tr["warmup"]:,} more
  (fewer if that would take over {tr["budget"] / 3:.1f} s), then runs up to
  {tr["epochs"]} timed epochs sharing a budget of {tr["budget"]:.1f} s. When the warm-up
  predicts an epoch longer than {tr["budget"] / tr["epochs"]:.1f} s, the timed passes
  cover a random subset that fits (at least 5,000 images) and are scaled to a whole
  epoch (cells marked *); passes stop early, after at least one, once the budget is
  spent. The process's value is the median of its timed passes; a table cell gives the
  median of those values over {results["rounds"]} round(s) and the fastest single timed
  epoch of any round. Each round runs, per network, the floor and then, per thread
  setting, nnbp and every peer in an order rotated from round to round, each in its own
  process.
- Kernels: every measurement of nnbp and torch-manual (training and floor) runs under
  each kernel, "default" (the environment as it is) and "avx2", the environment plus
  {_avx2_env()};
  the other peers run under the default kernel. The two kernels' processes of a
  measurement run one right after the other, the kernel that goes first alternating
  from round to round, so that a drift of the machine's speed weighs on both. The
  workers report the kernel that ran (threadpoolctl's OpenBLAS architecture; for torch,
  its BLAS and ATen's CPU capability): see Machine.
- Threads: "1" is `threadpoolctl.threadpool_limits(1)` around the timed calls (NumPy /
  OpenBLAS for nnbp, reference and sklearn) or `torch.set_num_threads(1)`, "2" (nnbp
  only, beside the 2-thread floor) the same with 2; "default"
  changes nothing for the peers (all cores) and, for nnbp, is the thread count nnbp
  itself chooses for the shapes (`nnbp.epoch.blas_threads`: 1 when the step's largest
  product is under 2 M multiply-adds, else the library's default), as `nnbp train`
  runs. A peer's figure is its better setting (lower median); "shipped" is nnbp's
  default."""


def _peers(results: dict[str, Any]) -> str:
    ref = results["settings"]["reference"]
    return f"""\
- reference: bench/reference.py's `BookNetwork` (per-example backprop, float64 column
  vectors) is too slow for whole epochs: it warms up on {ref["warmup"]:,} images and
  times up to {ref["epochs"]} pass(es) over a random {ref["examples"]:,}-image subset,
  scaled to seconds per epoch (cells marked *).
- torch-idiomatic: `nn.Sequential(Linear, Sigmoid, Linear, Sigmoid)` initialised N(0, 1),
  cost `0.5 * MSELoss(reduction="sum") / batch` (the mean over the batch of
  1/2 ||a - y||^2, the book's gradient scale), autograd, `torch.optim.SGD(lr=3.0)`,
  `zero_grad(set_to_none=True)`. Tensors built once; each epoch one `torch.randperm` and
  an `index_select` of x and y per mini-batch; no DataLoader (it would add per-batch
  Python and collation work that is not the engine's).
- torch-manual: BP1-BP4 by hand under `torch.no_grad()`: `addmm` + `sigmoid_` forward,
  `addcmul` for sigma' = a - a*a, `mm` for BP2, and `addmm_(delta^T, a, alpha=-eta/m)` /
  `add_(sum(delta), alpha=-eta/m)` as BP3/BP4 plus the update; buffers reused in place.
- sklearn: `MLPClassifier(hidden_layer_sizes=(hidden,), activation="logistic",
  solver="sgd", learning_rate="constant", momentum=0, nesterovs_momentum=False, alpha=0,
  batch_size=m, shuffle=True)`, one `partial_fit` per epoch. What differs: softmax
  outputs and log-loss (sklearn has no sigmoid-output quadratic-cost classifier),
  Glorot-uniform initial weights, eta 0.5 (the book's eta for a cross-entropy cost;
  3.0 is too large for log-loss), its input validation on every call. Its test accuracy
  is therefore not comparable; its time is."""


FLOOR_AND_MACHINE = f"""\
- Lower bound: every product one step needs (forward z = a w^T per layer, BP2's
  delta w, BP4's delta^T a per layer; no gradient w.r.t. the input) timed alone with
  `np.matmul(A, B, out=C)` at this step's exact shapes and layouts, float32, at 1 and at
  2 threads (`threadpool_limits`) under each kernel, fastest of 7 blocks of many calls;
  summed x steps per epoch = "GEMM-only". The
  "realistic floor" adds {CALLS_PER_STEP} calls per step at the cost of one cheap ufunc
  call (`np.multiply(x, y, out=z)` on a (10, 30) float32 array), the fewest NumPy calls a
  step can make. It ignores elementwise work on larger arrays, so it is optimistic for
  the bigger configurations. Best over rounds. nnbp at 1 thread is set beside the
  1-thread floor, nnbp at 2 threads beside the 2-thread floor.
- Command line: each `nnbp` command is a real process in a temporary working
  directory (so runs/latest of the repository is untouched); peak RSS is `ru_maxrss`
  of that one child (`os.wait4`). The image for `predict` is test image 0 written as
  an 8-bit PNG with Pillow.
- The machine may be shared: other jobs may run at the same time (see the load averages
  and the raw table). Two threads on two busy cores are hit hardest: an OpenMP/OpenBLAS
  team must wait for a descheduled thread, which makes 2-thread timings bimodal or
  much slower between processes."""


def method(results: dict[str, Any]) -> str:
    """The Method section: how the training figures, the peers and the floor were measured."""
    return "\n".join([_timing(results), _peers(results), FLOOR_AND_MACHINE])
