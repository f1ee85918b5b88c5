import re, sys, statistics
for path in sys.argv[1:]:
    rounds = {}
    for line in open(path):
        m = re.match(r'round (\d+) (old|new): .*median ([\d.]+) ms/step', line)
        if m: rounds.setdefault(int(m.group(1)), {})[m.group(2)] = float(m.group(3))
    ratios = [r['new'] / r['old'] for _, r in sorted(rounds.items()) if 'old' in r and 'new' in r]
    olds = [r['old'] for r in rounds.values()]; news = [r['new'] for r in rounds.values() if 'new' in r]
    print(f"{path}: {len(ratios)} rounds; new/old per round {', '.join(f'{x:.3f}' for x in ratios)}; "
          f"median ratio {statistics.median(ratios):.3f}; median old {statistics.median(olds):.2f} ms, new {statistics.median(news):.2f} ms")
