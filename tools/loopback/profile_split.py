#!/usr/bin/env python3
"""Splits a tern-loopback CPU profile into codec time and tern's own time.

Input: `perf script -F ip,sym,dso` of a `perf record --call-graph dwarf` profile (stdin or file).
A sample counts as libvpx / libopus when one of its stack frames is in that library (so libc and
kernel work the codecs call is theirs); everything else is tern's own (including libc, libstdc++
and kernel time tern calls, and libyuv, which is linked statically). Prints both splits: by the
library of the sampled instruction (what `perf report --sort dso` shows) and by caller, then tern's
largest entries as (library of the instruction, first tern function on the stack).
"""
import collections
import re
import sys


def dso_of(line):
    m = re.search(r"\(([^()]*)\)$", line)
    name = (m.group(1) if m else "?").split("/")[-1]
    return "kernel" if name.startswith("[kernel") else name


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    by_dso, by_caller, ours = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for block in text.split("\n\n"):
        lines = [l.strip() for l in block.strip().split("\n") if l.strip()]
        if not lines:
            continue
        total += 1
        # perf lists inlined frames (e.g. an inlined memcpy) first: the library is the next real one.
        top = next((dso_of(l) for l in lines if dso_of(l) != "inlined"), "?")
        by_dso[top] += 1
        codec = next((c for l in lines for c in ("libvpx", "libopus") if c in dso_of(l)), None)
        if codec:
            by_caller[codec] += 1
            continue
        by_caller["tern (own code, libyuv, libc/kernel it calls)"] += 1
        caller = "?"
        for l in lines:
            if "tern-loopback" in dso_of(l):
                caller = re.sub(r"\((unsigned|int|tern|std|double|char|const|\)).*", "", " ".join(l.split()[1:-1]))[:70]
                break
        ours[(top, caller)] += 1
    if total == 0:
        sys.exit("no samples")
    print(f"{total} samples\nby library of the sampled instruction:")
    for k, v in by_dso.most_common(10):
        print(f"  {100 * v / total:6.2f}%  {k}")
    print("by caller (a sample is a codec's when the codec is on its stack):")
    for k, v in by_caller.most_common():
        print(f"  {100 * v / total:6.2f}%  {k}")
    print("tern's largest entries (library of the instruction, first tern function on the stack):")
    for (d, c), v in ours.most_common(15):
        print(f"  {100 * v / total:6.2f}%  {d:22s} {c}")


if __name__ == "__main__":
    main()
