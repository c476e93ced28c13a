"""`python -m lowfreq probe MODEL [options]`: measure any model the paper's way and place it on the paper's maps.

The command is :func:`lowfreq.report.probe_report.probe_and_report`: it checks the model on two images
(one-line errors that say what to do), runs the clean probe and stops when its accuracy says the input
pipeline is broken (--force to go on), runs the other probes with the book's protocol (resumable: run it
again after an interruption), and writes ``report.html`` (one offline page) and ``report.json`` (every
number with its provenance) to --out. Its records go to a user cache (``~/.cache/lowfreq/probe``), never
into the checkout's committed ``results/`` unless --results names it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lowfreq.core import paths
from lowfreq.core.tiers import DEFAULT_TIER, TIERS
from lowfreq.core.utils import resolve_device
from lowfreq.experiments.userprobe import INPUT_SIZE_RANGE_PX, PROBES, check_input_size
from lowfreq.report import probe_report

__all__ = ["add_parser", "run", "terminal_lines", "busy_note"]

_EPILOG = """MODEL is one of:
  NAME                     a registry model (python -m lowfreq models list): zoo models at --tier, published ones
  torchvision:NAME         torchvision's constructor (weights=None); --weights FILE loads a state_dict
  timm:NAME                timm's constructor (pretrained=False); --weights FILE
  path/to/file.py:FUNC     FUNC() returns an nn.Module (a `tier` parameter gets --tier); --weights FILE
  FILE.pt / FILE.pt2       a TorchScript (torch.jit.save) or torch.export (torch.export.save) file
Nothing is downloaded. Images are fed in [0, 1]; give the model's normalization with --mean/--std.
Records and reports go to ~/.cache/lowfreq/probe ($LOWFREQ_PROBE_DIR), not into the checkout.
On a busy machine, --threads 1 or 2 is often faster than torch's default of one thread per core.

examples:
  python -m lowfreq probe base --tier cpu --out probe-base
  python -m lowfreq probe book/examples/my_model.py:blurred_base --tier cpu
  python -m lowfreq probe torchvision:resnet18 --weights r18.pt --data imagenette --input-size 224 \\
      --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --classes imagenette --tier full --device cuda
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "probe", help="probe any model the paper's way (hybrid images, minimal perturbations, corruptions, Fourier "
        "heat map) and place it on the paper's maps: an offline HTML report and a JSON file",
        description="Probe a model the paper's way and place it beside the zoo of a tier and the paper's groups.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="the model (see below)")
    p.add_argument("--tier", default=DEFAULT_TIER, choices=TIERS,
                   help="probe sizes, results folder (results/<tier>/) and the zoo to compare with (default cpu)")
    p.add_argument("--data", default=None, metavar="cifar10|imagenette|synthetic|PATH",
                   help="the evaluation images: cifar10, imagenette (imported at --input-size, default 64), synthetic, or "
                        "an image folder PATH/<class>/<image> (default: the model's own data for registry models, else "
                        "synthetic at smoke and cifar10 otherwise)")
    p.add_argument("--input-size", type=int, default=None, metavar="N",
                   help=f"resize the images to N x N pixels ({INPUT_SIZE_RANGE_PX[0]} to {INPUT_SIZE_RANGE_PX[1]})")
    p.add_argument("--grayscale", action="store_true", help="probe on grayscale (1-channel) images")
    p.add_argument("--mean", default=None, metavar="M1,M2,M3", help="the model's input mean per channel (normalization "
                   "is wrapped around the model; the probes keep images in [0, 1])")
    p.add_argument("--std", default=None, metavar="S1,S2,S3", help="the model's input std per channel")
    p.add_argument("--classes", default=None, metavar="MAP",
                   help="which model outputs stand for the data's classes, in the data's class order: 'imagenette' "
                        "(ImageNet-1k outputs), indices '0,217,482,...' ('3+4' joins outputs), or a JSON file")
    p.add_argument("--weights", default=None, metavar="FILE", help="a state_dict for torchvision:, timm: or FILE.py: models")
    p.add_argument("--num-classes", type=int, default=None, metavar="K",
                   help="build torchvision:/timm: models with K outputs (e.g. to load CIFAR-10 weights)")
    p.add_argument("--name", default=None, help="the model's name in file names and figures")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto (cuda when a GPU is present)")
    p.add_argument("--images", type=int, default=None, metavar="N", help="at most N images per probe (default: the "
                   "tier's sizes: the book's at cpu, e.g. 1000 hybrid, 500 attack, 1000 corruption, 200 heat-map images)")
    p.add_argument("--probes", default=",".join(PROBES), metavar="LIST",
                   help=f"comma-separated subset of {','.join(PROBES)} (default: all)")
    p.add_argument("--out", default=None, metavar="DIR", help="where report.html and report.json go (default: "
                   "~/.cache/lowfreq/probe/reports/<name>, or $LOWFREQ_PROBE_DIR/reports/<name>)")
    p.add_argument("--results", default=None, metavar="DIR", help="where this probe's records are written (default: "
                   "~/.cache/lowfreq/probe/results, or $LOWFREQ_PROBE_DIR/results); the book's records are read from "
                   "results/ of the checkout (or $LOWFREQ_RESULTS_DIR). Naming the checkout's results/ writes there")
    p.add_argument("--force", action="store_true", help="go on when the clean accuracy is near chance or far below "
                   "--expect-accuracy (a warning in the terminal and the report instead of a stop)")
    p.add_argument("--expect-accuracy", type=float, default=None, metavar="PCT",
                   help="the model's clean accuracy as you know it (percent, e.g. 76): the probe stops when it measures "
                        "far less (a preprocessing mistake), unless --force")
    p.add_argument("--cached-only", action="store_true", help="compute nothing: report what the cache holds")
    p.add_argument("--recompute", action="store_true", help="recompute even when cached")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (default: torch's, one per core); on a busy machine (load above the cores) "
                        "fewer threads, e.g. 1 or 2, finish sooner and leave the others their cores")
    p.add_argument("--quiet", action="store_true", help="no progress bars (they are off anyway when the output is "
                   "not a terminal: a log gets one line per probe)")


def _check_out(out: Path) -> None:
    """Refuse, before anything is computed, an --out that is a file or lies under one (the report is a folder)."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"--out {out}: {p} is a file, but the report is written into a folder; give a folder "
                                 "(new or existing) with --out DIR")
            return


def terminal_lines(rep: probe_report.ProbeReport) -> list[str]:
    """One line per measured number, each saying what the number is and in which unit; then the warnings."""
    r = rep.result
    row = r.row()
    out = []
    if row["clean_acc"] is not None:
        out.append(f"clean accuracy       {100 * row['clean_acc']:.1f}%: top-1 on the first {r.settings.n_clean} images")
    if row["f_rev_nyq"] is not None:
        out.append(f"f_rev                {row['f_rev_nyq']:.3f} (fraction of Nyquist): the mixing frequency at which hybrid "
                   "images switch from the low- to the high-frequency image's class")
    if row["f05_cpp"] is not None:
        out.append(f"f_0.5                {row['f05_cpp']:.3f} cycles/pixel: half the power of the minimal adversarial "
                   f"perturbations lies below it (their mean L-inf size: {255 * row['mean_eps']:.2f}/255)")
    if row["corruption_acc"] is not None:
        groups = ", ".join(f"{g}-frequency {100 * v:.1f}%" for g, v in (r.corruption or {}).get("by_group", {}).items())
        out.append(f"corruption accuracy  {100 * row['corruption_acc']:.1f}%: mean top-1 over 15 corruptions x 5 severities "
                   f"({groups} corruptions)")
    if r.fourier is not None:
        b = probe_report.heat_map_bands(r.fourier)
        up = probe_report.heat_map_bands(r.fourier, value="error_increase")
        bands = probe_report.HEAT_MAP_BANDS_CPP
        out.append("heat-map error       " + ", ".join(
            f"{k} |f| {lo:g}-{hi:g} c/p {100 * b[k]:.0f}% ({100 * up[k]:+.0f} points over clean)" for k, (lo, hi) in bands.items())
            + f": error rate under one Fourier-basis perturbation (L2 norm {r.fourier.norm_l2:g}; clean error "
            f"{100 * r.fourier.clean_error:.0f}%)")
    out += [f"warning: {w}" for w in r.warnings]
    return out


def busy_note(*, threads: int | None, load_1min: float | None = None, cores: int | None = None) -> str | None:
    """A one-line suggestion of --threads when the machine is loaded (1-minute load average at or above
    its cores) and no --threads was given; None otherwise (or where the load is unknown)."""
    if threads is not None:
        return None
    try:
        load = os.getloadavg()[0] if load_1min is None else float(load_1min)
    except OSError:
        return None
    n = (os.cpu_count() or 1) if cores is None else int(cores)
    if load < n:
        return None
    return (f"note: the machine is busy (load {load:.1f} on {n} cores); torch's {torch.get_num_threads()} threads will "
            f"compete with it: --threads {max(1, n // 2)} is often faster")


def run(args: argparse.Namespace) -> int:
    """Execute a parsed `probe` command; returns the exit status."""
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)
    note = busy_note(threads=args.threads)
    if note:
        print(note)
    if args.expect_accuracy is not None and not 0 < args.expect_accuracy <= 100:
        raise ValueError(f"--expect-accuracy is a percentage in (0, 100], got {args.expect_accuracy}")
    device = resolve_device(args.device)  # a missing GPU is an error before anything runs
    if args.device == "auto":
        print(f"device: {device} (auto: {'a GPU was found' if device.type == 'cuda' else 'no GPU, so the CPU'})")
    if args.images is not None and args.images < 1:
        raise ValueError(f"--images must be >= 1, got {args.images}")
    check_input_size(args.input_size)
    chosen = [p.strip() for p in args.probes.split(",") if p.strip()]
    if not chosen:
        raise ValueError(f"--probes {args.probes!r} names no probe; give a comma-separated subset of {','.join(PROBES)} "
                         "(or leave it out for all)")
    if args.out is not None:
        _check_out(Path(args.out))
    t0 = time.perf_counter()
    bars = not args.quiet and sys.stderr.isatty()  # in a log, bars would be one endless line: the per-probe lines stay
    rep = probe_report.probe_and_report(
        args.model, name=args.name, tier=args.tier, data=args.data, input_size=args.input_size, grayscale=args.grayscale,
        mean=args.mean, std=args.std, classes=args.classes, weights=args.weights, num_classes=args.num_classes,
        device=device, n_images=args.images, probes_to_run=chosen, compute=not args.cached_only,
        recompute=args.recompute, progress=bars, log=lambda line: print(line, flush=True), write_results=args.results,
        force=args.force, expected_accuracy=None if args.expect_accuracy is None else args.expect_accuracy / 100)
    out = args.out or paths.probe_dir() / "reports" / rep.result.name
    html_path, json_path = probe_report.write_report(rep, out)
    r = rep.result
    print(f"{r.name} ({r.description}) on {r.data.get('name')}, tier {r.tier}:")
    for line in terminal_lines(rep):
        print("  " + line)
    for k, why in r.missing.items():
        print(f"  {k}: not measured ({why})")
    print("summary:")
    for line in probe_report.summary_lines(rep):
        print("  " + line)
    took = {k: round(v, 1) for k, v in r.wall_s.items()}
    print(f"computed {', '.join(r.computed) or 'nothing (all cached)'} in {time.perf_counter() - t0:.0f} s"
          + (f" (seconds per probe: {took})" if took else ""))
    print(f"report: {html_path}\nnumbers: {json_path}")
    return 0
