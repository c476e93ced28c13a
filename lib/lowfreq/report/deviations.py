"""The deviations chapter: its measured side from cached results (:func:`deviation_numbers`), the
numbers as the text quotes them (:func:`deviations`) and the cpu tier's accuracy-time frontier
(:func:`frontier_table`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from lowfreq import experiments
from lowfreq.core.paths import Folders
from lowfreq.core.tiers import TIERS
from lowfreq.core.tiers import tier as tier_of
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import figure_inputs
from lowfreq.experiments.tiers import DATASET_TIER_CONFIGS, TIER_CONFIGS
from lowfreq.methods import spectra, v1
from lowfreq.models import zoo
from lowfreq.experiments.probe import FOURIER_IMAGES
from lowfreq.report import prose, rows, stats, tables
from lowfreq.report.common import NAN, eval_source
from lowfreq.report.paper import PAPER_EVAL_SIZES
from lowfreq.report.provenance import Provenance, data_label, make_provenance

__all__ = [
    "evaluation_sizes_markdown",
    "failed_attacks_text",
    "label_smoothing_text",
    "full_tier_text",
    "blur_series_markdown",
    "neural_design",
    "imagenette_finetune",
    "deviation_numbers",
    "Deviations",
    "frontier_table",
    "deviations",
]


def evaluation_sizes_markdown(tier: str) -> str:
    """A Markdown table of the evaluation sizes at `tier` (:data:`lowfreq.experiments.tiers.TIER_CONFIGS`)
    beside the paper's (:data:`lowfreq.report.paper.PAPER_EVAL_SIZES`), and the Fig 6 attack images of
    the Imagenette stand-in at `tier` (the paper does not state its ImageNet sizes)."""
    here = TIER_CONFIGS[tier]
    lines = [f"| images | here (`{tier}`) | the paper |", "|---|---:|---:|"]
    for label, key in (("attacked (minimal ε, $f_{0.5}$)", "n_attack"), ("hybrid low-frequency sources ($f_{rev}$)", "n_hybrid"),
                       ("corrupted (corruption accuracy)", "n_corruption")):
        lines.append(f"| {label} | {getattr(here, key):,} | {PAPER_EVAL_SIZES[key]:,} |")
    inn = DATASET_TIER_CONFIGS.get(("imagenette", tier))
    if inn is not None:
        lines.append(f"| attacked, Fig 6 (Imagenette stand-in here, ImageNet in the paper) | {inn.n_attack:,} | not stated |")
    return "\n".join(lines)


def failed_attacks_text(censored: Mapping[str, stats.CensoredEps]) -> str:
    """One sentence on the failed attacks of the models' attack records ({model: :class:`lowfreq.report.stats.CensoredEps`}):
    which models have failures, their success rates and the median minimal ε over the successful images
    beside the median with failures counted ('> x/255' where half or more failed); 'every attack
    succeeded on all N models' when none failed; 'no attack results' when empty."""
    if not censored:
        return "There are no attack results at this tier."
    failing = {n: c for n, c in censored.items() if c.n_success < c.n}
    if not failing:
        return f"Every attack succeeded on {'the one model' if len(censored) == 1 else f'all {len(censored)} models'} with attack results."
    parts = []
    for n, c in failing.items():
        only = "n/a" if c.mean_eps_success is None else f"{c.mean_eps_success * 255:.2f}/255"
        parts.append(f"{n} succeeds on {100 * c.success_rate:.1f}% of {prose.count(c.n, 'image')} (mean ε over the successes "
                     f"{only}, median with failures counted {c.median_text()})")
    k, total = len(failing), len(censored)
    head = f"{k} of the {prose.count(total, 'model')} with attack results {prose.verb(k, 'has', 'have')} failed attacks: "
    return head + "; ".join(parts) + "."


def label_smoothing_text(tier: str) -> str:
    """Which tiers' recipes train with label smoothing and how much, read from the zoo's ``base`` recipe of
    every tier, with the softmax target it trains towards at this `tier` (1 - s + s/K for smoothing s and
    K classes): 'The `cpu` and `full` recipes train with label smoothing 0.1 (the `smoke` recipe without):
    the true class's training target is 0.91 instead of 1.'"""
    by_tier = {t: zoo.recipe("base", t) for t in TIERS if not tier_of(t).is_dry_run}
    smooth = {t: r.label_smoothing for t, r in by_tier.items() if r.label_smoothing > 0}
    if not smooth:
        return "No recipe trains with label smoothing (as in the paper)."
    values = sorted(set(smooth.values()))
    names = prose.name_list([f"`{t}`" for t in smooth])
    plain = [f"`{t}`" for t in by_tier if t not in smooth]
    text = (f"The {names} {'recipe trains' if len(smooth) == 1 else 'recipes train'} with label smoothing "
            f"{' / '.join(f'{v:g}' for v in values)} (the paper trains without it"
            + (f"; the {prose.name_list(plain)} {'recipe' if len(plain) == 1 else 'recipes'} too" if plain else "") + ")")
    r = by_tier.get(tier)
    if r is not None and r.label_smoothing > 0:
        target = 1 - r.label_smoothing + r.label_smoothing / r.num_classes
        text += (f": at this tier the true class's training target is {target:.2f} instead of 1, and every other "
                 f"class's {r.label_smoothing / r.num_classes:.2f} instead of 0")
    return text + "."


def full_tier_text() -> str:
    """The `full` tier's base recipe and attack in words, read from the zoo recipe and the tier configuration:
    network, epochs, training images, batch size, label smoothing, and on how many of its attack images
    Brendel-Bethge runs."""
    r, cfg = zoo.recipe("base", "full"), TIER_CONFIGS["full"]
    images = "all training images" if r.train_subset is None else f"the first {r.train_subset:,} training images"
    ls = f", label smoothing {r.label_smoothing:g}" if r.label_smoothing else ""
    bb = cfg.attack.bb_images
    attack = ("Brendel-Bethge on every attacked image" if "bb" in cfg.attacks and (bb is None or bb >= cfg.n_attack) else
              f"Brendel-Bethge on the first {bb:,} of its {cfg.n_attack:,} attack images" if "bb" in cfg.attacks else
              "no Brendel-Bethge attack")
    return f"{r.arch} on {images}, {r.epochs} epochs, batch {r.batch_size}{ls}; {attack}"


def blur_series_markdown(tiers: Sequence[str] = TIERS, *, folders: Folders | None = None) -> str:
    """A Markdown table of the blur series' σ-to-f_rev mapping at each tier that has hybrid records:
    each blur model's σ (pixels of its own input) with its f_rev (fraction of Nyquist; the mean over its
    training seeds, their number named where there are several, as the Fig 5b curve uses it), and beside
    the series the f_rev range of the adversarially trained, corruption-trained and (colour) baseline
    models it should span, each a seed mean; the CIFAR-10 series and the Imagenette stand-in's. Loads
    committed records only; '—' where a record is missing."""
    def frev(name: str, tier: str) -> tuple[float, int] | None:
        vals = []
        for m in zoo.seed_replicas(name, tier):
            try:
                vals.append(float(experiments.probes.hybrid_result(m, tier, progress=False, load_only=True,
                                                                   folders=folders).f_rev_nyq))
            except Exception:  # noqa: BLE001 - a missing record is a gap in the table
                continue
        sp = stats.seed_spread(vals)
        return None if sp is None else (sp.mean, sp.n)

    def group_range(tier: str, group: str, family: str) -> str:
        names = [r.name for r in zoo.recipes(tier, group=group, family=family) if "gray" not in r.name]
        vals = [v[0] for v in (frev(n, tier) for n in names) if v is not None]
        if not vals:
            return "—"
        return f"{min(vals):.3f}" if len(vals) == 1 else f"{min(vals):.3f}..{max(vals):.3f}"

    lines = ["| tier | series | σ (px) → $f_{rev}$ (fraction of Nyquist) | adv $f_{rev}$ | crp $f_{rev}$ | base $f_{rev}$ |",
             "|---|---|---|---:|---:|---:|"]
    for t in tiers:
        if tier_of(t).is_dry_run:
            continue
        for family in ("cifar10", "imagenette"):
            try:
                series = [r.name for r in zoo.recipes(t, group="blur", family=family)]
            except ValueError:
                continue
            vals = {n: frev(n, t) for n in series}
            if not any(v is not None for v in vals.values()):
                continue
            cells = ", ".join(f"{zoo.blur_sigma_px(n, t):.2f} → "
                              + ("—" if v is None else f"{v[0]:.3f}" + (f" ({v[1]} seeds)" if v[1] > 1 else ""))
                              for n, v in sorted(vals.items(), key=lambda kv: zoo.blur_sigma_px(kv[0], t)))
            ranges = " | ".join(group_range(t, g, family) for g in ("adv", "crp", "base"))
            lines.append(f"| `{t}` | {'CIFAR-10' if family == 'cifar10' else 'Imagenette'} | {cells} | {ranges} |")
    if len(lines) == 2:
        return "No blur-series hybrid records are stored."
    return "\n".join(lines)


def neural_design(tier: str, *, folders: Folders | None = None) -> dict[str, str]:
    """The neural group's design at `tier`, as text: its training epochs, the λ and how it was chosen
    (the stored sweep: its population and epochs), the λ of each population, and the network and
    baseline they share."""
    pops = {p: zoo.recipe(n, tier) for p, n in (("mouse", "neural_mouse"), ("monkey", "neural_monkey"))}
    lam = {p: r.extra["neural"]["lambda"] for p, r in pops.items()}
    sweep = rows.load_lambda_sweep(tier, folders=folders)
    base = zoo.recipe("base_gray", tier)
    same_arch = len({r.arch for r in pops.values()} | {base.arch}) == 1
    return {
        "neural_epochs": str(pops["mouse"].epochs),
        "neural_lambda": ", ".join(f"{p} {v:g}" for p, v in lam.items()),
        "neural_sweep": ("no λ sweep is stored at this tier" if not sweep else
                         f"λ = {sweep.get('zoo_lambda', lam['mouse']):g} was chosen on a {sweep.get('epochs')}-epoch sweep of the "
                         f"{sweep.get('population')} population ({sweep.get('subset'):,} training images) and reused for "
                         + ", ".join(p for p in lam if p != sweep.get("population"))),
        "neural_arch": (f"one network, {base.arch}, and one baseline, base_gray, for both populations" if same_arch
                        else ", ".join(f"{p}: {r.arch}" for p, r in pops.items()) + f"; baseline base_gray: {base.arch}"),
    }


def imagenette_finetune(tier: str) -> str:
    """Which Imagenette stand-in recipes at `tier` are fine-tuned, from which parent recipe and for how
    many epochs, as one clause ('in_blur_s1.5, ... and in_pca: 2 epochs from in_base (seed 0)')."""
    try:
        recs = zoo.recipes(tier, family="imagenette")
    except ValueError:
        return "n/a"
    tuned: dict[tuple[str, int], list[str]] = {}
    for r in recs:
        parent = r.extra.get("init_from")
        if parent:
            tuned.setdefault((str(parent["name"]), r.epochs), []).append(r.name)
    if not tuned:
        return "no Imagenette recipe is fine-tuned at this tier"
    return "; ".join(f"{', '.join(ns)}: {ep} epochs from the one {parent} instance (seed {zoo.recipe(parent, tier).seed})"
                     for (parent, ep), ns in tuned.items())


def _strictly_increasing(values: Sequence[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


def _nan_if_none(v: Any) -> float:
    return NAN if v is None else float(v)


def deviation_numbers(book: rows.BookTier, *, names: Sequence[str] | None = None) -> dict[str, Any]:
    """The measured side of the deviations chapter at the resolved tier `book` (its folders), for `names`
    (default: every zoo model of the tier), from cached results only (nothing is computed but the
    exact-originals shares, a figure input computed with the data when it is not stored and stored when
    ``book.compute``; what is missing is NaN, or "n/a" for text).

    Keys: the base recipe (``arch``, ``epochs``, ``train_images``, ``batch_size``, ``lr``,
    ``dataset``), ``pca_k``, ``attacks``; ``exact_share_<probe>`` (fraction of lossless CIFAR-10
    images among the images of the clean / hybrid / attack / corruption probes; NaN for synthetic
    data); ``test_acc`` {model: accuracy after training}; ``pca_sweep`` (the K sweep record or None);
    ``attack_winner_share`` {model: {attack: share of images it won}}; ``attack_success``
    {model: success rate}; ``f05_grid_minus_exact_cpp`` {model: 25-radius-grid f_0.5 minus the exact
    one, cycles/pixel}; ``f05_std_cpp`` {model: bootstrap std}; ``nonmonotone_hybrid`` {model: whether
    the seed-mean p_low - p_high curve needed the isotonic fit}; ``n_boot``; ``nonmonotone_severity``
    (corruptions whose RMS change does not grow strictly with severity on the tier's images, from the
    cached corruption spectra; None when they were not computed).
    """
    tier, cfg, f = book.name, book.config, book.folders
    names = list(names) if names is not None else [r.name for r in zoo.recipes(tier)]
    r = zoo.recipe("base", tier)
    out: dict[str, Any] = {
        "tier": tier, "arch": r.arch, "epochs": r.epochs, "train_images": "all" if r.train_subset is None else r.train_subset,
        "batch_size": r.batch_size, "lr": r.lr, "weight_decay": r.weight_decay, "dataset": r.dataset,
        "pca_k": zoo.PCA_K.get(tier), "attacks": " + ".join(cfg.attacks), "n_boot": cfg.n_boot, "n_attack": cfg.n_attack,
        "adv_eps": zoo.recipe("adv_linf8", tier).adv_eps, "adv_method": zoo.recipe("adv_linf8", tier).adversarial,
    }
    for probe, n in (("clean", cfg.n_clean), ("hybrid", cfg.n_hybrid), ("attack", cfg.n_attack), ("corruption", cfg.n_corruption)):
        out[f"n_{probe}"] = n
        out[f"exact_share_{probe}"] = NAN
    if r.dataset.startswith("cifar10"):
        probes_ = ("clean", "hybrid", "attack", "corruption")
        try:  # a stored figure input (computed with the data; stored per resolve_compute)
            shares = figure_inputs.exact_share_input(tier, sorted({out[f"n_{p}"] for p in probes_}),
                                                     store=book.compute,
                                                     folders=f).payload["shares"]
            for probe in probes_:
                out[f"exact_share_{probe}"] = float(shares[str(out[f"n_{probe}"])])
        except (LookupError, DataNotFoundError):  # neither stored nor computable here: the shares stay NaN
            pass
    out["test_acc"] = {}
    for n in names:
        try:
            rec = experiments.instances.trained_record(book.target(n), f, train=False, progress=False)
            out["test_acc"][n] = None if rec is None else float(rec.payload["test_acc"])
        except Exception:  # noqa: BLE001
            out["test_acc"][n] = None
    out["pca_sweep"] = experiments.runs.latest_pca_sweep(tier, folders=f)
    out["attack_winner_share"], out["attack_success"], out["f05_grid_minus_exact_cpp"], out["f05_std_cpp"] = {}, {}, {}, {}
    out["nonmonotone_hybrid"] = {}
    out["eps_censored"] = {}
    max_eps = stats.attack_max_epsilon(cfg.attack)
    for n in names:
        try:
            a = experiments.probes.target_value("attack", book.target(n), folders=f)
        except Exception:  # noqa: BLE001
            a = None
        if a is not None:
            ok = np.asarray(a["success"], dtype=bool)
            winners = [w for w, s in zip(a["winner"], ok) if s]
            out["attack_winner_share"][n] = {w: winners.count(w) / max(1, len(winners)) for w in sorted(set(winners))}
            out["attack_success"][n] = float(a["success_rate"])
            out["eps_censored"][n] = stats.censored_eps(a["epsilon"], a["success"], max_eps=max_eps)
            p = torch.as_tensor(np.asarray(a["mean_power"], dtype=np.float64))
            out["f05_grid_minus_exact_cpp"][n] = (spectra.half_power_frequency_grid(None, power=p)
                                                  - spectra.half_power_frequency(None, power=p))
            out["f05_std_cpp"][n] = _nan_if_none(a.get("f05_std_cpp"))
        try:
            h = experiments.probes.target_value("hybrid", book.target(n), folders=f)
            out["nonmonotone_hybrid"][n] = bool(np.any(np.diff(np.asarray(h.mean_diff)) < 0))
        except Exception:  # noqa: BLE001
            pass
    try:  # corruptions whose RMS change does not grow strictly with severity on this tier's images
        sp = experiments.corruption_power.tier_corruption_spectra(tier, compute=False, folders=f)
        out["nonmonotone_severity"] = [k for k, v in sp.items()
                                       if not _strictly_increasing([v.rms_by_severity[s] for s in sorted(v.rms_by_severity)])]
    except Exception:  # noqa: BLE001
        out["nonmonotone_severity"] = None
    return out


@dataclass(frozen=True)
class Deviations:
    """The deviations chapter: its quoted `numbers` (all text, formatted with their units), the raw
    measurements behind them (`measured`, :func:`deviation_numbers`), `prov`, and the cpu tier's
    accuracy-time frontier as Markdown (`frontier`: :func:`frontier_table`; `recipe_seeds`: the 8-epoch recipe
    over 3 seeds of base and adv_linf8 that the cpu tier adopted), the evaluation sizes beside the
    paper's (`sizes`: :func:`evaluation_sizes_markdown`) and the blur series' σ-to-f_rev mapping at each tier
    (`blur_series_map`: :func:`blur_series_markdown`)."""

    numbers: dict[str, Any]
    measured: dict[str, Any]
    prov: Provenance
    frontier: str = ""
    sizes: str = ""
    blur_series_map: str = ""
    recipe_seeds: str = ""


def frontier_table(*, folders: Folders | None = None, name: str = "cpu_frontier") -> str:
    """A stored table of bench/cpu_frontier.py (`name`: the accuracy-time frontier, cpu_frontier; the
    8-epoch recipe over 3 seeds, cpu_recipe_e8) as Markdown, each candidate that is exactly a cpu zoo recipe
    (all fields but name and notes) marked with that recipe; a sentence saying how to make it when it is
    not stored."""
    fr = rows.load_frontier(folders=folders, name=name)
    if not fr:
        return f"No table {name} of bench/cpu_frontier.py is stored (run `python bench/cpu_frontier.py`)."

    def same(d: Mapping[str, Any]) -> str:
        return repr(sorted((k, v) for k, v in d.items() if k not in ("name", "notes")))

    zoo_cpu = {same(r.to_dict()): r.name for r in zoo.recipes("cpu", family=None)}
    chosen = {row["candidate"]: zoo_cpu[same(row["recipe"])] for row in fr if same(row["recipe"]) in zoo_cpu}
    return tables.frontier_markdown(fr, chosen)


def _pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def deviations(tier: str, *, names: Sequence[str] | None = None, folders: Folders | None = None,
               compute_missing: bool | None = None) -> Deviations:
    """The numbers of the deviations chapter at `tier`, formatted as the text quotes them (shares and
    accuracies in %, epsilon in /255, f_0.5 in cycles/pixel; "n/a" where a result does not exist at
    this tier), from :func:`deviation_numbers` (cached results only)."""
    book = rows.book_tier(tier, compute_missing=compute_missing, include_published=False, folders=folders)  # resolved once
    dn = deviation_numbers(book, names=names)
    cfg = book.config
    data_source = eval_source(cfg, cfg.n_clean, folders=book.folders)
    synthetic = dn["dataset"] == "synthetic"
    g: dict[str, Any] = {}
    for probe in ("clean", "hybrid", "attack", "corruption"):
        g[f"exact_{probe}"] = "n/a (synthetic images)" if synthetic else _pct(dn[f"exact_share_{probe}"])
        g[f"n_{probe}"] = f"{dn[f'n_{probe}']:,}"
    g["data_source"] = data_source
    g["tier"] = tier
    for k in ("arch", "epochs", "batch_size", "lr", "weight_decay", "dataset", "pca_k", "attacks", "n_boot", "adv_method"):
        g[k] = str(dn[k])
    g["train_images"] = f"{dn['train_images']:,}" if isinstance(dn["train_images"], int) else str(dn["train_images"])
    g["adv_eps"] = f"{dn['adv_eps'] * 255:.0f}/255"
    accs = {k: v for k, v in dn["test_acc"].items() if v is not None}
    g["acc_base"] = _pct(accs.get("base"))
    g["acc_range"] = f"{_pct(min(accs.values()))} to {_pct(max(accs.values()))}" if accs else "n/a"
    g["n_trained"] = len(accs)
    sweep = dn["pca_sweep"]
    g["pca_sweep"] = ("no sweep result is cached at this tier" if not sweep else
                      f"at this tier K = {sweep['chosen_k']} came closest to the clean accuracy of {sweep['reference']} "
                      f"({_pct(sweep['reference_acc'])}): "
                      + ", ".join(f"K = {k}: {_pct(v)}" for k, v in sorted(sweep["acc_by_k"].items(), key=lambda kv: int(kv[0]))))
    win = dn["attack_winner_share"].get("base")
    g["base_winners"] = "n/a (no attack results for base)" if not win else ", ".join(f"{w} {_pct(s)}" for w, s in win.items())
    g["base_success"] = _pct(dn["attack_success"].get("base"))
    gd = dn["f05_grid_minus_exact_cpp"]
    g["grid_max"] = f"{max(abs(v) for v in gd.values()):.3f}" if gd else "n/a"
    g["grid_n"] = len(gd)
    stds = [v for v in dn["f05_std_cpp"].values() if math.isfinite(v)]
    g["boot_std_median"] = f"{np.median(stds):.3f}" if stds else "n/a"
    nm = dn["nonmonotone_hybrid"]
    g["nonmono_n"] = sum(nm.values())
    g["nonmono_total"] = len(nm)
    sev = dn["nonmonotone_severity"]
    g["nonmono_sev"] = ("not computed at this tier (the S1 chapter computes the corruption spectra)" if sev is None
                        else (", ".join(sev) if sev else "none"))
    g["label_smoothing"] = f"{zoo.recipe('base', tier).label_smoothing:g}"
    g["label_smoothing_text"] = label_smoothing_text(tier)
    g["full_tier"] = full_tier_text()
    g["fourier_images"] = prose.name_list([f"{n:,} at `{t}`" for t, n in FOURIER_IMAGES.items()], limit=len(FOURIER_IMAGES))
    g["max_eps"] = "n/a" if stats.attack_max_epsilon(cfg.attack) is None else f"{stats.attack_max_epsilon(cfg.attack) * 255:.1f}/255"
    g["failed_attacks"] = failed_attacks_text(dn["eps_censored"])
    g.update(neural_design(tier, folders=folders))
    g["in_finetune"] = imagenette_finetune(tier)
    g["v1_pops"] = ", ".join(f"{k} {v.sf_center_cpi:g} cycles/image" for k, v in v1.POPULATIONS.items())
    prov = make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_clean), data_detail=data_source)
    return Deviations(g, dn, prov, frontier=frontier_table(folders=folders), sizes=evaluation_sizes_markdown(tier),
                      blur_series_map=blur_series_markdown(folders=folders),
                      recipe_seeds=frontier_table(folders=folders, name="cpu_recipe_e8"))
