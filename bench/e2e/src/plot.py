#!/usr/bin/env python3
"""PNG plots of bench/e2e results TSVs (results/latest.tsv, scale-latest.tsv).

usage: plot.py <results.tsv> [more.tsv ...] [-o OUTDIR]   (default: next to the first TSV)

For every TSV it draws, per load (sessions x recipients), grouped bars of the
median over reps of: messages/s acknowledged and delivered, latency p50/p99,
CPU seconds per 1,000 messages (machine and relay), and peak relay memory
(RSS and PSS), one bar per configuration (postfix, petrel none/fsync/replicas,
petrel iNeM in scaling runs), with the min..max of the reps as error bars.
Files: <tsv stem>-<metric>.png. It only reads TSVs; it does not run the
benchmark, and it needs matplotlib (see README.md: a virtualenv under /tmp).
"""
import argparse
import csv
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS = [
    ("throughput", "messages/s", [("ack_msg_s", "acknowledged"), ("deliv_msg_s", "delivered")]),
    ("latency", "receipt to delivery, ms", [("lat_p50_ms", "p50"), ("lat_p99_ms", "p99")]),
    ("cpu", "CPU s per 1,000 messages", [("cpu_machine_s_per_1k", "machine"), ("cpu_relay_s_per_1k", "relay")]),
    ("memory", "MiB (peak)", [("rss_relay_mib", "relay RSS sum"), ("pss_relay_mib", "relay PSS sum")]),
]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def read(path):
    with open(path) as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def config_name(r):
    if r["system"] == "postfix":
        return "postfix"
    topo = "" if (r["ingress"], r["egress"]) == ("1", "1") else f" i{r['ingress']}e{r['egress']}"
    return f"petrel {r['mode']}{topo}"


def plot_file(path, outdir):
    rows = [r for r in read(path) if r.get("rcpts")]
    if not rows:
        print(f"{path}: no rows", file=sys.stderr)
        return []
    configs = list(dict.fromkeys(config_name(r) for r in rows))
    loads = list(dict.fromkeys((r["sessions"], r["rcpts"]) for r in rows))
    stem = os.path.splitext(os.path.basename(path))[0]
    written = []
    for name, ylabel, cols in METRICS:
        fig, axes = plt.subplots(1, len(cols), figsize=(6 * len(cols), 4.5), squeeze=False)
        for ax, (col, title) in zip(axes[0], cols):
            width = 0.8 / max(1, len(configs))
            for ci, cfg in enumerate(configs):
                xs, ys, lo, hi = [], [], [], []
                for li, (s, rc) in enumerate(loads):
                    v = [num(r.get(col)) for r in rows if config_name(r) == cfg and (r["sessions"], r["rcpts"]) == (s, rc)]
                    v = [x for x in v if x is not None]
                    if not v:
                        continue
                    m = statistics.median(v)
                    xs.append(li + (ci - (len(configs) - 1) / 2) * width)
                    ys.append(m)
                    lo.append(m - min(v))
                    hi.append(max(v) - m)
                if xs:
                    ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=cfg)
            ax.set_xticks(range(len(loads)))
            ax.set_xticklabels([f"{s} sess, {rc} rcpt" for s, rc in loads])
            ax.set_title(title)
            ax.set_ylabel(ylabel)
            ax.grid(axis="y", alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"{stem}: {name} (median of reps, bars min..max)")
        fig.tight_layout()
        out = os.path.join(outdir, f"{stem}-{name}.png")
        fig.savefig(out, dpi=100)
        plt.close(fig)
        written.append(out)
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tsv", nargs="+")
    ap.add_argument("-o", "--outdir")
    a = ap.parse_args()
    for path in a.tsv:
        outdir = a.outdir or os.path.dirname(os.path.abspath(path))
        os.makedirs(outdir, exist_ok=True)
        for out in plot_file(path, outdir):
            print(out)


if __name__ == "__main__":
    main()
