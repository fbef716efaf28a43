"""The evaluation's figures (PNG): accuracy with baselines, subgroups, calibration, routes and
latency."""

from __future__ import annotations

from pathlib import Path


def _bars(ax, labels, metrics, title):
    values = [m["value"] or 0 for m in metrics]
    errs = [[v - (m["ci95"][0] if m["ci95"][0] is not None else v) for v, m in
             zip(values, metrics, strict=True)],
            [(m["ci95"][1] if m["ci95"][1] is not None else v) - v for v, m in
             zip(values, metrics, strict=True)]]
    ax.bar(range(len(values)), values, yerr=errs, capsize=3, color="#4C72B0")
    ax.set_xticks(range(len(values)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)


def write_plots(report: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cds.guardrails.calibration import reliability_png

    out_dir.mkdir(parents=True, exist_ok=True)
    p = report["pipeline"]
    runs = {"pipeline": p, **report["baselines"]}
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), dpi=120)
    for ax, key in zip(axes, ("top1", "top5", "mrr"), strict=True):
        _bars(ax, list(runs), [r[key] for r in runs.values()], f"{key} (95% CI)")
    fig.tight_layout()
    paths = [out_dir / "accuracy.png"]
    fig.savefig(paths[-1])
    plt.close(fig)

    groups = [(f"{kind}={name}", g) for kind, members in p["subgroups"].items()
              for name, g in members.items()]
    fig, ax = plt.subplots(figsize=(7, 3.4), dpi=120)
    if groups:
        _bars(ax, [f"{label} (n={g['n']})" for label, g in groups],
              [g["top1"] for _, g in groups], "top-1 by subgroup (95% CI)")
    fig.tight_layout()
    paths.append(out_dir / "subgroups.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    curves = {k: v for k, v in p["calibration"].items() if v}
    paths.append(out_dir / "reliability.png")
    reliability_png(curves, paths[-1])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4), dpi=120)
    ax1.bar(list(p["routes"]), list(p["routes"].values()), color="#55A868")
    ax1.set_title("routes", fontsize=9)
    stages = list(p["latency_s"])
    ax2.bar([x - 0.2 for x in range(len(stages))], [p["latency_s"][s]["p50"] for s in stages],
            width=0.4, label="p50")
    ax2.bar([x + 0.2 for x in range(len(stages))], [p["latency_s"][s]["p95"] for s in stages],
            width=0.4, label="p95")
    ax2.set_xticks(range(len(stages)), stages, rotation=20, ha="right", fontsize=8)
    ax2.set_ylabel("seconds")
    ax2.set_title("latency per stage", fontsize=9)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "routes_latency.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths
