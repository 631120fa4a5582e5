#!/usr/bin/env python3
"""What N repetitions of a workload cost, from two callgrind runs (bench/README.md,
"SQLite backend: where the time goes"): instructions per repetition by group of
threads (the JS thread, the SQLite writer, readers, checkpointer, V8's helper
threads), and the functions that account for them (self cost, B minus A).

  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/cg/a.%p \
    node bench/sqlite-profile.mjs sqlite-normal 1 0
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/cg/b.%p \
    node bench/sqlite-profile.mjs sqlite-normal 1 20
  python3 bench/callgrind-diff.py /tmp/cg/a /tmp/cg/b 20 [top]

Thread numbers differ between runs, so threads are grouped by what they ran.
"""
import glob, re, subprocess, sys, collections
a, b, n = sys.argv[1], sys.argv[2], float(sys.argv[3])
top = int(sys.argv[4]) if len(sys.argv) > 4 else 15
def files(prefix):
    out = {}
    for f in glob.glob(prefix + '.*-*'):
        out[int(f.rsplit('-', 1)[1])] = f
    return out
def funcs(f):
    txt = subprocess.run(['callgrind_annotate', '--threshold=100', f], capture_output=True, text=True).stdout
    d = collections.Counter()
    started = False
    for line in txt.splitlines():
        if 'file:function' in line:
            started = True; continue
        if not started: continue
        m = re.match(r'\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$', line)
        if m:
            name = m.group(2)
            name = re.sub(r'^\S*?:(?=[^:])', '', name, count=1) if name.startswith(('.', '/', '?')) else name
            name = re.sub(r' \[[^\]]*\]$', '', name)
            name = re.sub(r"'\d+$", '', name)
            d[name] += int(m.group(1).replace(',', ''))
    return d
def total(f):
    for line in open(f):
        if line.startswith('totals:'):
            return int(line.split()[1])
    return 0
def label(t, fn):
    if t == 1: return 'JS thread'
    names = ' '.join(fn)
    for key, lab in [('writer::Writer', 'SQLite writer (also serves reads while idle)'), ('sqlite::reader', 'SQLite readers'), ('checkpoint::run', 'SQLite checkpointer'),
                     ('floor_sqlite', 'floor'), ('v8::internal', 'V8 helper threads')]:
        if key in names: return lab
    if 'sqlite3' in names: return 'SQLite (other)'
    return 'other threads'
groups = {}
for side, fs in (('a', files(a)), ('b', files(b))):
    for t, f in fs.items():
        fn = funcs(f)
        g = groups.setdefault(label(t, fn), {'a': collections.Counter(), 'b': collections.Counter(), 'ta': 0, 'tb': 0, 'threads': set()})
        g[side].update(fn)
        g['t' + side] += total(f)
        g['threads'].add(t)
grand = sum(g['tb'] - g['ta'] for g in groups.values())
print(f'total: {grand/n:,.0f} instructions per repetition')
for lab, g in sorted(groups.items(), key=lambda kv: -(kv[1]['tb'] - kv[1]['ta'])):
    d = (g['tb'] - g['ta']) / n
    print(f'  {lab}: {d:12,.0f} per repetition  ({g["ta"]:,} -> {g["tb"]:,})')
    if abs(d) < 0.02 * abs(grand / n): continue
    diff = collections.Counter({k: g['b'].get(k, 0) - g['a'].get(k, 0) for k in set(g['b']) | set(g['a'])})
    for k, v in diff.most_common(top):
        if v <= 0: break
        print(f'      {v/n:10,.0f}  {k[:150]}')
