#!/usr/bin/python3
"""PyTorch 1.13 (Debian python3-torch) equivalents of tapir-bench's conv, Flipout and
training-step cases, timed the way tapir-bench times them (3 warm-up runs, then at least
--repeats runs and --min-time seconds, median). Same command line and JSON line format as
tapir-bench, so tools/compare_peers.py can put the two side by side.

Shapes are the conv-transpose view (input N x H x H x c_in, output H*stride, TF "SAME"). PyTorch
has no asymmetric padding for conv_transpose2d, so SAME is written as padding + output_padding:
the output size and FLOP count are those of tapir's case (the cropped border differs by one
row/column, which does not change the work). The Flipout case is the bayesian-torch / TFP
estimator written in plain torch ops with autograd, with tapir's defaults: posterior
Normal(mu, softplus(rho) + 1e-5), elementwise Rademacher signs, a sampled bias, and the
single-sample Monte Carlo KL against the prior 1/2 N(0,1) + 1/2 N(0,2000).

PyTorch runs its GEMMs in OpenBLAS here; run it with OPENBLAS_CORETYPE set to the fastest core
type for this CPU (tools/compare_peers.py probes it), or it may fall back to slow kernels.
"""
import argparse
import fnmatch
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = {  # n, h, c_in, c_out, k, stride
    "a": (32, 7, 64, 32, 5, 2),
    "b": (32, 14, 32, 16, 5, 2),
    "c": (32, 28, 16, 1, 5, 1),
    "d": (64, 16, 128, 64, 3, 2),
}


# Every conv case is timed in both memory layouts; the faster is reported.
LAYOUTS = (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))


def flops_of(shape):
    n, h, ci, co, k, _ = shape
    return 2.0 * n * h * h * ci * co * k * k


def same_transpose_padding(h, k, s):
    """padding, output_padding of conv_transpose2d whose output is h * s (TF SAME)."""
    total = max((h - 1) * s + k - h * s, 0)  # rows the full transposed conv has beyond h * s
    pad = (total + 1) // 2
    return pad, 2 * pad - total


def rademacher(shape):
    return torch.empty(shape).bernoulli_(0.5).mul_(2).sub_(1)


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def normal_log_prob(w, loc, scale):
    return -0.5 * ((w - loc) / scale) ** 2 - torch.log(scale) - LOG_SQRT_2PI


def spike_and_slab_log_prob(w):
    a = math.log(0.5) - 0.5 * w * w - LOG_SQRT_2PI
    slab = 2000.0
    b = math.log(0.5) - 0.5 * (w / slab) ** 2 - math.log(slab) - LOG_SQRT_2PI
    return torch.logaddexp(a, b)


class FlipoutParams:
    """The four posterior variables of one Flipout layer (kernel in PyTorch's layout)."""

    def __init__(self, kernel_shape, bias_len):
        rho0 = math.log(math.expm1(1e-3 - 1e-5))
        fan = kernel_shape[1] * math.prod(kernel_shape[2:])
        bound = math.sqrt(6.0 / fan)
        self.k_loc = torch.empty(kernel_shape).uniform_(-bound, bound).requires_grad_()
        self.k_rho = torch.full(kernel_shape, rho0, requires_grad=True)
        self.b_loc = torch.zeros(bias_len, requires_grad=True)
        self.b_rho = torch.full((bias_len,), rho0, requires_grad=True)

    def variables(self):
        return [self.k_loc, self.k_rho, self.b_loc, self.b_rho]


def flipout(p, x, conv, bias_shape):
    """Flipout forward: y = conv(x, mu) + r_out * conv(r_in * x, sigma * eps) + b_sample; KL term."""
    k_scale = F.softplus(p.k_rho) + 1e-5
    b_scale = F.softplus(p.b_rho) + 1e-5
    k_sample = p.k_loc + k_scale * torch.randn_like(p.k_loc)
    b_sample = p.b_loc + b_scale * torch.randn_like(p.b_loc)
    eps = torch.randn_like(p.k_loc)
    mean = conv(x, p.k_loc)
    pert = conv(x * rademacher(x.shape), k_scale * eps)
    y = mean + pert * rademacher(pert.shape) + b_sample.view(bias_shape)
    kl = (normal_log_prob(k_sample, p.k_loc, k_scale) - spike_and_slab_log_prob(k_sample)).sum() + (
        normal_log_prob(b_sample, p.b_loc, b_scale) - spike_and_slab_log_prob(b_sample)).sum()
    return y, kl


def conv_transpose_fn(shape):
    n, h, ci, co, k, s = shape
    pad, out_pad = same_transpose_padding(h, k, s)
    return lambda x, w: F.conv_transpose2d(x, w, stride=s, padding=pad, output_padding=out_pad)


def conv_transpose_case(shape, backward):
    n, h, ci, co, k, s = shape
    conv = conv_transpose_fn(shape)
    runs = {}
    for layout, fmt in LAYOUTS:
        x = torch.full((n, ci, h, h), 0.5).to(memory_format=fmt).requires_grad_(backward)
        w = torch.full((ci, co, k, k), 0.01).to(memory_format=fmt).requires_grad_(backward)
        if backward:
            # the upstream gradient is made once, as tapir's and oneDNN's cases do
            with torch.no_grad():
                dy = torch.ones_like(conv(x, w))

            def run(x=x, w=w, dy=dy):
                y = conv(x, w)
                y.backward(dy)
                x.grad = None
                w.grad = None
        else:
            def run(x=x, w=w):
                with torch.no_grad():
                    conv(x, w)
        runs[layout] = run
    return runs, flops_of(shape) * (3.0 if backward else 1.0)


def convolution_case(shape):
    n, h, ci, co, k, s = shape
    big = h * s
    pad = (max((h - 1) * s + k - big, 0) + 1) // 2
    runs = {}
    for layout, fmt in LAYOUTS:
        x = torch.full((n, co, big, big), 0.5).to(memory_format=fmt)
        w = torch.full((ci, co, k, k), 0.01).to(memory_format=fmt)

        def run(x=x, w=w):
            with torch.no_grad():
                F.conv2d(x, w, stride=s, padding=pad)
        runs[layout] = run
    return runs, flops_of(shape)


def flipout_case(shape):
    n, h, ci, co, k, s = shape
    conv = conv_transpose_fn(shape)
    runs = {}
    for layout, fmt in LAYOUTS:
        p = FlipoutParams((ci, co, k, k), co)
        x = torch.randn(n, ci, h, h).to(memory_format=fmt).requires_grad_()

        def run(p=p, x=x):
            y, kl = flipout(p, x, conv, (1, co, 1, 1))
            (y.sum() + kl).backward()
            x.grad = None
            for v in p.variables():
                v.grad = None
        runs[layout] = run
    return runs, 6.0 * flops_of(shape)


class Autoencoder:
    """The seed's autoencoder (examples/common/autoencoder_model.hpp), in NCHW."""

    def __init__(self):
        self.enc = FlipoutParams((32, 1, 5, 5), 32)
        rho0 = math.log(math.expm1(1e-3 - 1e-5))
        bound = math.sqrt(6.0 / 6272)
        self.bott_k_loc = torch.empty(6272, 2).uniform_(-bound, bound).requires_grad_()
        self.bott_k_rho = torch.full((6272, 2), rho0, requires_grad=True)
        self.bott_b_loc = torch.zeros(2, requires_grad=True)
        self.bott_b_rho = torch.full((2,), rho0, requires_grad=True)
        self.dec1 = FlipoutParams((2, 64, 7, 7), 64)
        self.dec2 = FlipoutParams((64, 32, 4, 4), 32)
        self.out = FlipoutParams((1, 32, 2, 2), 1)
        self.rho = torch.tensor(math.log(math.expm1(1.0 - 1e-5)), requires_grad=True)

    def variables(self):
        v = self.enc.variables() + [self.bott_k_loc, self.bott_k_rho, self.bott_b_loc, self.bott_b_rho]
        return v + self.dec1.variables() + self.dec2.variables() + self.out.variables() + [self.rho]

    def loss(self, x, n_train=60000):
        leaky = lambda t: F.leaky_relu(t, 0.2)
        h, kl1 = flipout(self.enc, x, lambda t, w: F.conv2d(t, w, stride=2, padding=2), (1, 32, 1, 1))
        h = leaky(h).flatten(1)
        k_scale = F.softplus(self.bott_k_rho) + 1e-5
        b_scale = F.softplus(self.bott_b_rho) + 1e-5
        k_s = self.bott_k_loc + k_scale * torch.randn_like(k_scale)
        b_s = self.bott_b_loc + b_scale * torch.randn_like(b_scale)
        z = h @ k_s + b_s
        kl2 = (normal_log_prob(k_s, self.bott_k_loc, k_scale) - spike_and_slab_log_prob(k_s)).sum() + (
            normal_log_prob(b_s, self.bott_b_loc, b_scale) - spike_and_slab_log_prob(b_s)).sum()
        z = z.view(-1, 2, 1, 1)
        h, kl3 = flipout(self.dec1, z, lambda t, w: F.conv_transpose2d(t, w), (1, 64, 1, 1))
        h = leaky(h)
        h, kl4 = flipout(self.dec2, h, lambda t, w: F.conv_transpose2d(t, w, stride=4), (1, 32, 1, 1))
        h = leaky(h)
        # k2 SAME at stride 1 pads one row/column after: pad explicitly, then a VALID conv
        loc, kl5 = flipout(self.out, F.pad(h, (0, 1, 0, 1)), lambda t, w: F.conv2d(t, w), (1, 1, 1, 1))
        scale = F.softplus(self.rho) + 1e-5
        logit = torch.log(x) - torch.log1p(-x)  # LogitNormal: Normal on logit(x), Jacobian term
        log_p = normal_log_prob(logit, loc, scale) - torch.log(x) - torch.log1p(-x)
        nll = -log_p.flatten(1).sum(1).mean()
        return nll + (kl1 + kl2 + kl3 + kl4 + kl5) / n_train


def train_step_case(batch):
    model = Autoencoder()
    adam = torch.optim.Adam(model.variables(), lr=1e-3)
    torch.manual_seed(3)
    x = torch.rand(batch, 1, 28, 28) * 0.998 + 0.001

    def run():
        adam.zero_grad(set_to_none=True)
        model.loss(x).backward()
        adam.step()
    conv_macs = 14 * 14 * 32 * 25 + 7 * 7 * 64 * 2 + 7 * 7 * 64 * 32 * 16 + 28 * 28 * 32 * 4
    return {"nchw": run}, batch * (2.0 * conv_macs * 6 + 2.0 * 6272 * 2 * 3)


def gemm_case(n):
    a = torch.full((n, n), 0.5)
    b = torch.full((n, n), 0.25)
    c = torch.empty(n, n)
    return {"rowmajor": lambda: torch.mm(a, b, out=c)}, 2.0 * n ** 3


def cases():
    table = {}
    for name, shape in SHAPES.items():
        table[f"conv_transpose/{name}/fwd"] = lambda shape=shape: conv_transpose_case(shape, False)
        table[f"conv_transpose/{name}/fwdbwd"] = lambda shape=shape: conv_transpose_case(shape, True)
        table[f"convolution/{name}/fwd"] = lambda shape=shape: convolution_case(shape)
        table[f"flipout_conv_transpose/{name}/fwdbwd"] = lambda shape=shape: flipout_case(shape)
    table["train_step/autoencoder/b32"] = lambda: train_step_case(32)
    table["gemm/2048"] = lambda: gemm_case(2048)
    return table


def time_run(run, repeats, min_time):
    for _ in range(3):
        run()
    times = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args()
    table = cases()
    if args.list:
        print("\n".join(table))
        return 0
    chosen = [n for n in table if any(fnmatch.fnmatch(n, pat) for pat in args.case)]
    if not chosen:
        print(f"torch_peer: no case matches {args.case}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for name in chosen:
        runs, flops = table[name]()
        best = None
        for layout, run in runs.items():
            median, count = time_run(run, args.repeats, args.min_time)
            if best is None or median < best[0]:
                best = (median, count, layout)
        median, count, layout = best
        row = {"case": name, "peer": f"pytorch-{torch.__version__}", "threads": args.threads,
               "median_ms": round(median, 4), "gflops": round(flops / median / 1e6, 2),
               "layout": layout, "runs": count}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{name:40s} threads={args.threads} median {median:9.3f} ms  {row['gflops']:8.2f} GFLOP/s  ({layout})",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
