#!/usr/bin/env python3
"""The long chaos run over time: messages given a 250 and delivered (top),
the difference (middle), jobs still queued (bottom), each fault a vertical
line coloured by its kind (a next-hop outage shaded while it lasts).

    plot_timeline.py RUN_DIR OUT.png

RUN_DIR holds timeline.tsv and faults.tsv (and report.json, for the title)
as chaos.spec.ts (CHAOS_OUT) or src/long-run.ts (--out) writes them. matplotlib only (a venv: python3 -m venv /tmp/petrel-plot &&
/tmp/petrel-plot/bin/pip install matplotlib).
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

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
    fig, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(12, 9), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}
    )
    accepted = [int(s["accepted"]) for s in samples]
    delivered = [int(s["delivered"]) for s in samples]
    top.plot(t, accepted, label="given a 250", color="tab:blue")
    top.plot(t, delivered, label="delivered", color="tab:green")
    top.set_ylabel("messages (cumulative)")
    # At this scale the two curves above overlap: their difference, the
    # messages given a 250 and not delivered yet (negative: a delivery seen
    # before its client read the 250).
    middle.plot(t, [a - d for a, d in zip(accepted, delivered)], color="tab:blue",
                label="given a 250, not delivered yet")
    middle.set_ylabel("messages")
    bottom.plot(t, [int(s["queued"]) for s in samples], label="jobs queued", color="tab:gray")
    # Samples taken while Redis restarted carry the last depth read: marked.
    unread = [(float(s["t_s"]), int(s["queued"])) for s in samples if s.get("queue_read") == "0"]
    if unread:
        bottom.plot([u[0] for u in unread], [u[1] for u in unread], "x", color="black",
                    ms=4, label="Redis not answering (last depth)")
    bottom.set_ylabel("jobs still to do")
    bottom.set_xlabel("seconds since the load started")
    kinds = []
    for f in faults:
        kind = f["kind"]
        x = float(f["started_s"])
        if kind not in kinds:
            kinds.append(kind)
        end = float(f["ended_s"])
        for ax in (top, middle, bottom):
            ax.axvline(x, color=COLOURS.get(kind, "tab:cyan"), alpha=0.45, lw=0.8)
            if kind in ("cut-next-hop", "next-hop-4yz") and end > x:
                # the hop is cut off, or answers 4yz, until end
                ax.axvspan(x, end, color=COLOURS[kind], alpha=0.08)
    # The faults' legend with opaque handles, counted.
    handles, labels = top.get_legend_handles_labels()
    for kind in kinds:
        n = sum(1 for f in faults if f["kind"] == kind)
        handles.append(Line2D([], [], color=COLOURS.get(kind, "tab:cyan"), lw=1.5))
        labels.append(f"{kind} ({n})")
    top.legend(handles, labels, loc="upper left", fontsize=8, ncol=2)
    middle.legend(loc="upper right", fontsize=8)
    bottom.legend(loc="upper right", fontsize=8)
    title = f"chaos run: {len(faults)} faults, {samples[-1]['accepted']} messages given a 250"
    report_path = os.path.join(run_dir, "report.json")
    if os.path.exists(report_path):
        with open(report_path) as f:
            report = json.load(f)
        ledger = report["ledger"]
        title = (f"chaos run (seed {report['seed']}, {report['options']['ratePerSecond']}/s): "
                 f"{len(faults)} faults, {ledger['accepted']:,} given a 250, "
                 f"{ledger['delivered']:,} delivered, {len(ledger['lost'])} lost, "
                 f"{len(ledger['duplicates'])} duplicates")
    top.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
