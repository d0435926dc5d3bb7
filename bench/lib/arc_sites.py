"""bench/arc-count's report: calls per request by kind and, with sites, by source line.

A call's return address is mapped back into the binary (its load address from /proc/PID/maps)
and named by addr2line. The call instruction itself usually carries no source line (it is the
compiler's own code), so the nearest instruction before it that has one names the site, with the
chain of functions it was inlined into."""
import subprocess
import sys
from collections import Counter


def load_base(maps_path, binary):
    import os
    real = os.path.realpath(binary)
    for line in open(maps_path):
        fields = line.split()
        if len(fields) >= 6 and fields[5] == real and int(fields[2], 16) == 0:
            return int(fields[0].split("-")[0], 16)
    raise SystemExit(f"arc_sites: {binary} not found in {maps_path}")


def name_sites(binary, addresses, reach=160):
    """Source line chains (innermost first) for each return address."""
    queries = [a - d for a in addresses for d in range(1, reach)]
    out = subprocess.run(["addr2line", "-a", "-i", "-e", binary] + ["%x" % q for q in queries],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    lines, current = {}, None
    for row in out:
        if row.startswith("0x"):
            current = int(row, 16)
            lines[current] = []
        else:
            lines[current].append(row.split(" (discriminator")[0])
    named = {}
    for a in addresses:
        named[a] = "?"
        for d in range(1, reach):
            chain = [l for l in lines.get(a - d, []) if not l.endswith((":0", ":?")) and "<compiler-generated>" not in l]
            if chain and ".swift:" in chain[0]:
                named[a] = " <- ".join(l.split("/Sources/")[-1] for l in chain)
                break
    return named


def main():
    binary, counts_path, maps_path, requests, sites = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
    base = load_base(maps_path, binary)
    totals, by_site = Counter(), Counter()
    rows = []
    for line in open(counts_path):
        kind, address, calls = line.split()
        totals[kind] += int(calls)
        rows.append((kind, int(address, 16) - base, int(calls)))
    print(f"{binary}: {requests} requests; per request: "
          f"{totals['retain'] / requests:.2f} retains, {totals['release'] / requests:.2f} releases, "
          f"{totals['alloc'] / requests:.2f} allocations")
    if not sites:
        return
    frequent = [r for r in rows if r[2] / requests >= 0.5]
    names = name_sites(binary, sorted({r[1] for r in frequent}))
    for kind, address, calls in frequent:
        by_site[(names[address], kind)] += calls
    for (site, kind), calls in sorted(by_site.items(), key=lambda item: -item[1]):
        print(f"  {calls / requests:6.2f} {kind:7} {site}")


main()
