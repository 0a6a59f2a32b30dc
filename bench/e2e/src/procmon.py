#!/usr/bin/env python3
"""CPU and memory of process groups during one bench/e2e run.

usage: procmon.py <interval_s> <out.tsv> <group>=<pid>[,<pid>...] ...

A group is the given processes and all their descendants (found anew at every
sample: Postfix's master forks smtpd, cleanup, smtp, ...). Every <interval_s>
it reads /proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmRSS) of every
process of every group. On SIGTERM it writes, per group, the CPU seconds used
since it started (for each process: last ticks seen minus its ticks at the
first sample, or minus 0 when it appeared later), the peak of the group's
summed VmRSS (MiB), the peak of its summed Pss (smaps_rollup: shared pages
divided among their users, so that a group of forked processes is not counted
many times over), the largest VmHWM of one process (MiB), and the number of
processes seen; then a row `machine` with the whole machine's CPU seconds from
/proc/stat (user+nice+system+irq+softirq, every core).
It does not see CPU a process used after its last sample before it exited, nor
processes that lived less than one interval; it does not count threads apart.
"""
import os
import signal
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")
interval = float(sys.argv[1])
out = sys.argv[2]
groups = {}
for arg in sys.argv[3:]:
    name, pids = arg.split("=", 1)
    groups[name] = {int(p) for p in pids.split(",") if p}

stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)


def machine_ticks():
    with open("/proc/stat") as f:
        v = f.readline().split()[1:]
    return sum(int(v[i]) for i in (0, 1, 2, 5, 6))


def proc_table():
    """pid -> (ppid, ticks) for every process."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2 :].split()
        table[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
    return table


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


first = {}  # (group, pid) -> ticks at the first sample (absent: appeared later)
last = {}  # (group, pid) -> last ticks seen
rss_peak = {g: 0 for g in groups}
pss_peak = {g: 0 for g in groups}
hwm_max = {g: 0 for g in groups}
m0 = machine_ticks()
t0 = time.time()
sample = 0
while True:
    table = proc_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    for g, roots in groups.items():
        members, todo = set(), [p for p in roots if p in table]
        while todo:
            p = todo.pop()
            if p in members:
                continue
            members.add(p)
            todo.extend(children.get(p, []))
        rss = pss = 0
        for p in members:
            ticks = table[p][1]
            if sample == 0:
                first[(g, p)] = ticks
            last[(g, p)] = ticks
            rss += status_kib(p, "VmRSS")
            pss += pss_kib(p)
            hwm_max[g] = max(hwm_max[g], status_kib(p, "VmHWM"))
        rss_peak[g] = max(rss_peak[g], rss)
        pss_peak[g] = max(pss_peak[g], pss)
    if sample == 0:
        print("procmon ready", flush=True)
    sample += 1
    if stop:
        break
    time.sleep(interval)

m1 = machine_ticks()
with open(out, "w") as f:
    f.write("group\tcpu_s\trss_peak_mib\thwm_max_mib\tprocs\tpss_peak_mib\n")
    for g in groups:
        keys = [k for k in last if k[0] == g]
        cpu = sum(last[k] - first.get(k, 0) for k in keys) / TCK
        f.write(f"{g}\t{cpu:.2f}\t{rss_peak[g] / 1024:.1f}\t{hwm_max[g] / 1024:.1f}\t{len(keys)}\t{pss_peak[g] / 1024:.1f}\n")
    f.write(f"machine\t{(m1 - m0) / TCK:.2f}\tNA\tNA\t{time.time() - t0:.2f}\tNA\n")
