#!/usr/bin/env python3
"""The long chaos run over time: messages given a 250 and delivered (top),
jobs still queued (bottom), each fault a vertical line coloured by its kind.

    plot_timeline.py RUN_DIR OUT.png

RUN_DIR holds timeline.tsv and faults.tsv as chaos.spec.ts writes them
(CHAOS_OUT). matplotlib only (a venv: python3 -m venv /tmp/petrel-plot &&
/tmp/petrel-plot/bin/pip install matplotlib).
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {
    "kill-ingress": "tab:red",
    "kill-routing": "tab:orange",
    "kill-egress": "tab:purple",
    "restart-redis": "black",
    "cut-next-hop": "tab:brown",
    "next-hop-4yz": "tab:olive",
}


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main(run_dir, out):
    samples = rows(os.path.join(run_dir, "timeline.tsv"))
    faults = rows(os.path.join(run_dir, "faults.tsv"))
    t = [float(s["t_s"]) for s in samples]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.plot(t, [int(s["accepted"]) for s in samples], label="given a 250", color="tab:blue")
    top.plot(t, [int(s["delivered"]) for s in samples], label="delivered", color="tab:green")
    top.set_ylabel("messages (cumulative)")
    bottom.plot(t, [int(s["queued"]) for s in samples], label="jobs queued", color="tab:gray")
    bottom.set_ylabel("jobs still to do")
    bottom.set_xlabel("seconds since the load started")
    seen = set()
    for f in faults:
        kind = f["kind"]
        x = float(f["started_s"])
        label = kind if kind not in seen else None
        seen.add(kind)
        end = float(f["ended_s"])
        for ax in (top, bottom):
            ax.axvline(x, color=COLOURS.get(kind, "tab:cyan"), alpha=0.45, lw=0.8,
                       label=label if ax is top else None)
            if kind in ("cut-next-hop", "next-hop-4yz") and end > x:
                # the hop is cut off, or answers 4yz, until end
                ax.axvspan(x, end, color=COLOURS[kind], alpha=0.08)
    top.legend(loc="upper left", fontsize=8, ncol=2)
    bottom.legend(loc="upper right", fontsize=8)
    top.set_title(f"chaos run: {len(faults)} faults, {samples[-1]['accepted']} messages given a 250")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
