#!/usr/bin/env bash
# Valgrind memcheck over a handful of the hostile-value cases
# (__test__/support/hostile-child.js), for the closing note of issue 12:
#
#   scripts/valgrind-hostile.sh [case…]
#
# Default cases: the 4 MiB Buffer whose length getter transfers its
# ArrayBuffer (through encodeAuthValue and keys.set), views on resizable
# ArrayBuffers shrunk from a valueOf getter, and get results whose slabs are
# transferred away between gets.
#
# V8 and Node produce memcheck errors of their own (the garbage collector's
# conservative stack scan reads every stack slot, uninitialised ones
# included, the addon's frames' too when a getter the walker called runs a
# GC): every error context is counted; those whose stack mentions the addon
# (baileys-auth-native / baileys_auth) are counted apart and printed in full,
# and among them those raised in the addon: the first frame that is not libc
# or valgrind's own wrappers (memcpy…) is the addon's. Those decide.
# Node runs with --trace-children=no; VALGRIND_SUPPRESSIONS=<file> adds a
# suppressions file; VALGRIND_OUT=<dir> keeps the logs there (default: a new
# directory under /tmp, printed); VALGRIND_PARSE_ONLY=1 only reads the logs
# already in VALGRIND_OUT again. Exit code: 0 when no error context mentions
# the addon and every case passed its own checks, 1 otherwise.

set -u
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind not found: installing it (apt-get)" >&2
  apt-get update && apt-get install -y valgrind || { echo "could not install valgrind" >&2; exit 2; }
fi

if [ "$#" -gt 0 ]; then
  CASES=("$@")
else
  CASES=(transfer-length-encode transfer-length-keys-set resize-from-valueof-getter get-detach-slab-loop)
fi
OUT=${VALGRIND_OUT:-$(mktemp -d /tmp/valgrind-hostile-XXXXXX)}
mkdir -p "$OUT"
NODE=$(command -v node)
SUPP=()
if [ -n "${VALGRIND_SUPPRESSIONS:-}" ]; then SUPP=(--suppressions="$VALGRIND_SUPPRESSIONS"); fi

echo "valgrind $(valgrind --version | sed 's/valgrind-//'), node $("$NODE" --version), addon $(ls -l --time-style=+%Y-%m-%dT%H:%M:%S baileys-auth-native.*.node 2>/dev/null | awk '{print $6, $7}')"
echo "logs in $OUT"
echo

for c in "${CASES[@]}"; do
  if [ -n "${VALGRIND_PARSE_ONLY:-}" ]; then continue; fi
  start=$(date +%s)
  valgrind --tool=memcheck --error-exitcode=99 --trace-children=no --num-callers=40 \
    "${SUPP[@]}" --log-file="$OUT/$c.log" \
    "$NODE" --expose-gc __test__/support/hostile-child.js "$c" >"$OUT/$c.out" 2>&1
  echo "$? $(( $(date +%s) - start ))" >"$OUT/$c.rc"
done

# One summary for every case (the logs are parsed in Node: blocks of lines
# between empty `==pid==` lines; an error block starts with its kind).
"$NODE" - "$OUT" "${CASES[@]}" <<'EOF'
const fs = require('node:fs')
const path = require('node:path')
const [out, ...cases] = process.argv.slice(2)
const KIND = /^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Process terminating|Argument '.*' of function|Invalid address|Jump to the invalid address|Stack overflow)/
const ADDON = /baileys-auth-native|baileys_auth/
let bad = false
const rows = []
const details = []
for (const c of cases) {
  const log = fs.readFileSync(path.join(out, `${c}.log`), 'utf8')
  const [rc, secs] = fs.readFileSync(path.join(out, `${c}.rc`), 'utf8').trim().split(' ').map(Number)
  const stdout = fs.readFileSync(path.join(out, `${c}.out`), 'utf8')
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
  let result = null
  try { result = line ? JSON.parse(line.slice(7)) : null } catch {}
  const blocks = []
  let cur = []
  for (const raw of log.split('\n')) {
    const m = /^==\d+== ?(.*)$/.exec(raw)
    if (!m) continue
    const text = m[1]
    // A block ends at an empty line; an unindented line starts a new one
    // (an error's stack and details are indented).
    if (text.trim() === '' || !/^\s/.test(text)) {
      if (cur.length) blocks.push(cur)
      cur = text.trim() === '' ? [] : [text]
    } else cur.push(text)
  }
  if (cur.length) blocks.push(cur)
  const errors = blocks.filter((b) => KIND.test(b[0]))
  const mentions = errors.filter((b) => b.some((l) => ADDON.test(l)))
  const frames = (b) => b.filter((l) => /^\s+(at|by) 0x[0-9A-Fa-f]+:/.test(l))
  const LIBC = /vgpreload|vg_replace|\(in \/(usr\/)?lib[^)]*\/(libc|ld-linux)[^)]*\)|\((memcpy|memmove|memset|string|strlen)[^)]*\.(c|S):\d+\)/
  const raisedIn = (b) => {
    const top = frames(b).find((f) => !LIBC.test(f))
    return top && ADDON.test(top) ? 'addon' : 'node'
  }
  const inAddon = mentions.filter((b) => raisedIn(b) === 'addon')
  const invalid = inAddon.filter((b) => /^Invalid (read|write)|^Process terminating|^Jump to the invalid/.test(b[0]))
  const stackScan = mentions.filter((b) => raisedIn(b) === 'node' && /IteratePointersInStack|ConservativeStackVisitor/.test(frames(b)[0] || ''))
  const summary = /ERROR SUMMARY: (\d+) errors from (\d+) contexts/.exec(log)
  const child = result ? (result.pass ? 'pass' : 'FAIL') : rc === 99 ? 'no result' : `exit ${rc}`
  const kinds = {}
  for (const b of errors) kinds[b[0].replace(/ of size \d+| \(.*$/g, '')] = (kinds[b[0].replace(/ of size \d+| \(.*$/g, '')] || 0) + 1
  rows.push({ c, child, secs, total: summary ? `${summary[1]} from ${summary[2]} contexts` : `${errors.length} contexts (no summary: killed?)`, mentions: mentions.length, stackScan: stackScan.length, addon: inAddon.length, invalid: invalid.length, kinds })
  if (inAddon.length || !result || !result.pass) bad = true
  for (const b of inAddon) details.push(`--- ${c}: RAISED IN THE ADDON: ${b.join('\n    ')}`)
  for (const b of mentions.filter((x) => !inAddon.includes(x))) details.push(`--- ${c}: mentions the addon, raised in node/V8${stackScan.includes(b) ? " (V8's conservative stack scan)" : ''}: ${b.slice(0, 4).join('\n    ')}\n    …`)
  if (result && !result.pass) details.push(`--- ${c}: the case's own checks failed:\n    ${(result.failures || []).join('\n    ').slice(0, 4000)}`)
  if (!result) details.push(`--- ${c}: no RESULT (exit ${rc}); last output:\n    ${stdout.slice(-2000)}`)
}
const w = Math.max(...rows.map((r) => r.c.length), 4)
console.log(`${'case'.padEnd(w)}  child      time   memcheck errors (all)        mention the addon (V8 stack scan)   raised in the addon   invalid r/w or fatal there`)
for (const r of rows) console.log(`${r.c.padEnd(w)}  ${r.child.padEnd(9)}  ${String(r.secs).padStart(4)} s  ${r.total.padEnd(27)}  ${`${r.mentions} (${r.stackScan})`.padStart(19)}                ${String(r.addon).padStart(6)}   ${String(r.invalid).padStart(10)}`)
console.log('')
for (const r of rows) console.log(`${r.c}: error kinds: ${JSON.stringify(r.kinds)}`)
if (details.length) console.log(`\n${details.join('\n\n')}`)
const totalMentions = rows.reduce((n, r) => n + r.mentions, 0)
const totalAddon = rows.reduce((n, r) => n + r.addon, 0)
const totalInvalid = rows.reduce((n, r) => n + r.invalid, 0)
console.log(`\nsummary: ${totalMentions} error contexts mention the addon, ${totalAddon} raised in it, ${totalInvalid} of them invalid reads/writes or fatal signals`)
console.log(bad ? 'FAIL: errors raised in the addon, or a case failed' : 'OK: no memcheck error raised in the addon; every case passed its own checks')
process.exitCode = bad ? 1 : 0
EOF
