#!/usr/bin/env node
'use strict'
// The command line: `baileys-auth-native <stats|verify|migrate> <store…>`,
// where a store is a folder, a SQLite file (`*.db`, `*.sqlite`,
// `sqlite:PATH`) or an account on a PostgreSQL server (`postgres://…
// --account NAME`). Arguments are parsed with Node's own `util.parseArgs`; the
// work is done by the package's exports (inspectFolder, inspectSqlite and
// migrateAuthStores, native underneath). This file only formats.

const { parseArgs } = require('node:util')

const lib = require('../index.js')
const { parseStoreSpec, describeStore } = require('../lib/stores.js')

const NAME = 'baileys-auth-native'
/** Folders with more key files than this get a progress bar on a terminal. */
const PROGRESS_THRESHOLD = 2000

const EXIT = { ok: 0, problems: 1, usage: 2, failed: 3 }

const HELP = {
  main: `Usage: ${NAME} <command> [options] <store…>

Look after a Baileys auth store: a folder (the one useMultiFileAuthState
keeps), a SQLite file (useSqliteAuthState's: a path ending in .db, .sqlite
or .sqlite3, or any path as sqlite:PATH), or an account on a PostgreSQL
server (usePostgresAuthState's: a postgres:// URL with --account NAME).

Commands:
  stats <folder>           what is in the folder: registered or not, the account,
                           files and bytes by key type, oldest and newest files,
                           stale temporary files
  verify <folder>          read every file back; list torn, corrupt, unknown and
                           mis-named files; exit 1 when any is found
  migrate <from> <to>      copy credentials and every key to another store
                           (folder, SQLite file or PostgreSQL account, any way)
                           and check the copy

PostgreSQL (any command): a postgres:// URL names the server (the PG*
variables fill in what it leaves out); --account NAME the account (both
sides of migrate, or --from-account / --to-account); --table-prefix and
--schema as given to usePostgresAuthState. stats on a URL without
--account lists the accounts, their keys and who holds each lease.

Options for every command:
  --json                   machine-readable output on stdout
  -h, --help               help (also: ${NAME} <command> --help)

Exit status: 0 all good, 1 problems or differences found, 2 bad usage,
3 the command could not run (missing folder, folder in use, unreadable creds.json…).

stats and verify only read: they work beside a running bot. verify --fix and
the destination of migrate need the folder's lock: stop the bot using it first.
`,
  stats: `Usage: ${NAME} stats [--json] [--flavor v6|v7|any] <folder>

Shows what is in an auth folder, without changing anything (safe beside a
running bot):
  - whether creds.json exists, whether the account is registered, its id (me.id);
  - the number of files and bytes of each key type (pre-key, session, …);
  - the oldest and newest files;
  - temporary files left by a killed process, and files moved aside as corrupt.

Options:
  --json                   print the report as JSON
  --flavor v6|v7|any       read creds.json as that Baileys line does (default any)
  -h, --help               this help
`,
  verify: `Usage: ${NAME} verify [--fix] [--json] [--flavor v6|v7|any] <folder>

Reads every file of an auth folder with this package's reader and lists the
ones that are wrong:
  torn        cut short (a crash while Baileys' own helper was writing it)
  corrupt     not JSON, or a creds.json that is not credentials
  unknown     a *.json no key type claims
  misnamed    a name Baileys cannot have written (holds ':')
  too-large   over 64 MiB
  unreadable  not a regular file, or no permission

Exits 1 when anything is found (even when --fix moved it), 0 otherwise.

Options:
  --fix                    move torn, corrupt and too-large key files aside as
                           <name>.corrupt-<unix-ms> (never deletes; Baileys then
                           re-creates those keys). Needs the folder's lock.
  --json                   print the report as JSON
  --flavor v6|v7|any       read as that Baileys line does (default any)
  -h, --help               this help
`,
  migrate: `Usage: ${NAME} migrate [options] <from> <to>

Copies the credentials and every key of the ten key types from one auth
store to another (created when missing): folder to folder, folder to SQLite
file (auth.db), file to folder or file to file. Then reads the copy back and
compares every id and value with the source. Keys are copied first and
creds.json last: an interrupted copy into a new folder leaves no creds.json
there. What <to> stores is byte for byte what <from> held: a key file of
<from> that cannot be read arrives as it is, and <to> keeps it aside at its
first read (run verify on <from> first to see them).

<from> is read without its lock (stop the bot for an exact copy); <to> is
locked. A <to> that already holds credentials or keys is refused unless
--force, which deletes its key files first and replaces its creds.json.

Options:
  --force                  overwrite a destination that already holds auth data
  --no-verify              skip the read-back comparison
  --progress               always show the progress bar on stderr (by default
                           only on a terminal, for over ${PROGRESS_THRESHOLD.toLocaleString("en-US")} keys)
  --batch-size <n>         keys per write batch (default 256)
  --fsync                  durable at once: fsync every file written (a folder);
                           a SQLite file is durable by default
  --flavor v6|v7|any       read as that Baileys line does (default any)
  --json                   print the summary as JSON
  -h, --help               this help
`,
}

const COMMON = ['json', 'help', 'account', 'table-prefix', 'schema']
const ALLOWED = {
  stats: [...COMMON, 'flavor'],
  verify: [...COMMON, 'flavor', 'fix'],
  migrate: [...COMMON, 'flavor', 'force', 'no-verify', 'progress', 'batch-size', 'fsync', 'from-account', 'to-account'],
}
const ARITY = { stats: 1, verify: 1, migrate: 2 }

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  flavor: { type: 'string' },
  fix: { type: 'boolean' },
  force: { type: 'boolean' },
  'no-verify': { type: 'boolean' },
  progress: { type: 'boolean' },
  'batch-size': { type: 'string' },
  fsync: { type: 'boolean' },
  account: { type: 'string' },
  'from-account': { type: 'string' },
  'to-account': { type: 'string' },
  'table-prefix': { type: 'string' },
  schema: { type: 'string' },
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i

/** A store argument as lib/stores.js takes it: a URL becomes its account's spec. */
function storeArg(store, values, account = values.account) {
  if (!POSTGRES_URL.test(store)) return store
  return { kind: 'postgres', connection: store, account, schema: values.schema, tablePrefix: values['table-prefix'] }
}

class UsageError extends Error {}

// ---------------------------------------------------------------- formatting

const int = (n) => n.toLocaleString('en-US')

function bytes(n) {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = -1
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(1)} ${units[u]}`
}

function when(t) {
  return t ? `${t.name} (${new Date(t.mtimeMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')})` : '-'
}

function table(rows, align) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  return rows.map((r) => r.map((c, i) => (align[i] === 'r' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd())
}

function credsLine(r) {
  const backup = r.findings.find((x) => x.problem === 'backup')
  if (!r.hasCreds && backup) return `missing, but ${backup.name} is there (${backup.detail})`
  if (!r.hasCreds) return 'none (no creds.json: a new session would start here)'
  if (r.registered === null) {
    const f = r.findings.find((x) => x.name === 'creds.json')
    return `present but unreadable${f ? ` (${f.problem}: ${f.detail})` : ''}`
  }
  if (r.registered) return `registered${r.accountId ? ` as ${r.accountId}` : ''}`
  return `present, not registered${r.accountId ? ` (account ${r.accountId})` : ' (not paired yet)'}`
}

function formatStats(r) {
  const out = []
  const keyFiles = Object.values(r.byType).reduce((n, s) => n + s.files, 0)
  const keyBytes = Object.values(r.byType).reduce((n, s) => n + s.bytes, 0)
  out.push(`folder        ${r.folder}`)
  out.push(`credentials   ${credsLine(r)}`)
  out.push(`key files     ${int(keyFiles)} (${bytes(keyBytes)})`)
  const types = Object.keys(r.byType)
  if (types.length > 0) {
    const rows = [['type', 'files', 'bytes'], ...types.map((t) => [t, int(r.byType[t].files), bytes(r.byType[t].bytes)])]
    for (const line of table(rows, ['l', 'r', 'r'])) out.push(`  ${line}`)
  }
  out.push(`all files     ${int(r.totalFiles)} (${bytes(r.totalBytes)}), creds.json included`)
  out.push(`oldest        ${when(r.oldest)}`)
  out.push(`newest        ${when(r.newest)}`)
  out.push(`stale temps   ${r.staleTemps.length}${r.staleTemps.length ? ` (left by a killed process; removed at the next open): ${r.staleTemps.slice(0, 5).join(', ')}${r.staleTemps.length > 5 ? ', …' : ''}` : ''}`)
  out.push(`moved aside   ${r.movedAside.length}${r.movedAside.length ? ` (corrupt files kept for inspection): ${r.movedAside.slice(0, 5).join(', ')}${r.movedAside.length > 5 ? ', …' : ''}` : ''}`)
  return out.join('\n')
}

function formatVerify(r, fix) {
  const out = [`checked ${int(r.verified)} files in ${r.folder}`]
  if (r.findings.length > 0) {
    const rows = r.findings.map((f) => [f.problem, f.name, f.detail + (f.movedTo ? ` → moved to ${f.movedTo}` : '')])
    out.push(...table(rows, ['l', 'l', 'l']).map((l) => `  ${l}`))
  }
  if (r.staleTemps.length) out.push(`note: ${r.staleTemps.length} stale temporary file(s) (removed at the next open)`)
  if (r.movedAside.length) out.push(`note: ${r.movedAside.length} file(s) moved aside earlier as corrupt`)
  if (r.findings.length === 0) out.push('no problems found')
  else {
    const fixable = r.findings.filter((f) => ['torn', 'corrupt', 'too-large'].includes(f.problem) && f.name !== 'creds.json' && !f.movedTo).length
    const moved = r.findings.filter((f) => f.movedTo).length
    let line = `${r.findings.length} problem${r.findings.length === 1 ? '' : 's'} found`
    if (moved) line += `; ${moved} moved aside`
    if (!fix && fixable) line += ` (run with --fix to move the ${fixable} unreadable key file${fixable === 1 ? '' : 's'} aside)`
    out.push(line)
  }
  return out.join('\n')
}

function formatMigrate(s) {
  const out = [`migrated ${s.from} → ${s.to}`]
  const counts = Object.entries(s.keys).filter(([, n]) => n > 0)
  out.push(`credentials   copied`)
  out.push(`keys          ${int(s.total)}${counts.length ? ` (${counts.map(([t, n]) => `${t} ${int(n)}`).join(', ')})` : ''}`)
  if (!s.verified) out.push('verified      no (--no-verify)')
  else if (s.differenceCount === 0) out.push('verified      every key and the credentials read back equal')
  else {
    out.push(`verified      ${int(s.differenceCount)} difference${s.differenceCount === 1 ? '' : 's'}:`)
    for (const d of s.differences.slice(0, 20)) {
      out.push(`  ${d.problem.padEnd(7)}  ${d.type}${d.id === null ? '' : ` ${d.id}`}${d.path ? ` at ${d.path}` : ''}`)
    }
    if (s.differenceCount > 20) out.push(`  … and ${int(s.differenceCount - 20)} more (see --json)`)
  }
  return out.join('\n')
}

/** A one-line bar on stderr, redrawn in place; `finish` closes it at 100%. */
function progressBar(stream) {
  let last = ''
  let current = null
  const draw = (label, done, expected) => {
    const width = 30
    const ratio = expected > 0 ? Math.min(1, done / expected) : 1
    const filled = Math.round(ratio * width)
    const line = `${label.padEnd(9)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${int(done)}/${int(expected)} keys`
    if (line === last) return
    last = line
    stream.write(`\r${line}`)
  }
  return {
    update(label, done, expected) {
      current = { label, done }
      draw(label, done, Math.max(done, expected))
    },
    /** The phase is over: some keys may have been skipped (unreadable), so it ends at what was done. */
    finish() {
      if (!current) return
      draw(current.label, current.done, current.done)
      stream.write('\n')
      current = null
      last = ''
    },
  }
}

// ---------------------------------------------------------------- commands

function flavorOf(values) {
  const f = values.flavor
  if (f === undefined) return undefined
  if (!['v6', 'v7', 'any'].includes(f)) throw new UsageError(`--flavor must be v6, v7 or any, not '${f}'`)
  return f
}

async function stats(store, values) {
  const spec = parseStoreSpec(storeArg(store, values))
  if (spec.kind === 'postgres') {
    const r = await lib.inspectPostgres(spec.connection, spec.account ?? null, { flavor: flavorOf(values), schema: spec.schema, tablePrefix: spec.tablePrefix })
    const output = values.json ? r : spec.account === undefined ? formatAccounts(spec.label, r) : formatPostgresStats(spec.label, r)
    return { output, code: EXIT.ok }
  }
  if (spec.kind === 'sqlite') {
    const r = await lib.inspectSqlite(spec.path, { flavor: flavorOf(values) })
    return { output: values.json ? r : formatSqliteStats(r), code: EXIT.ok }
  }
  const r = await lib.inspectFolder(store, { flavor: flavorOf(values) })
  return { output: values.json ? r : formatStats(r), code: EXIT.ok }
}

async function verify(store, values) {
  const spec = parseStoreSpec(storeArg(store, values))
  if (spec.kind === 'postgres') {
    if (values.fix) throw new UsageError('--fix is for folders: a PostgreSQL store keeps a value it cannot decode aside by itself, the first time it is read')
    if (spec.account === undefined) throw new UsageError('verify of a postgres:// URL needs --account NAME')
    const r = await lib.inspectPostgres(spec.connection, spec.account, { verify: true, flavor: flavorOf(values), schema: spec.schema, tablePrefix: spec.tablePrefix })
    return { output: values.json ? r : formatSqliteVerify({ ...r, file: spec.label }, ''), code: r.findings.length > 0 ? EXIT.problems : EXIT.ok }
  }
  if (spec.kind === 'sqlite') {
    if (values.fix) throw new UsageError('--fix is for folders: a SQLite store keeps a value it cannot decode aside by itself, the first time it is read')
    const r = await lib.inspectSqlite(spec.path, { verify: true, flavor: flavorOf(values) })
    return { output: values.json ? r : formatSqliteVerify(r), code: r.findings.length > 0 ? EXIT.problems : EXIT.ok }
  }
  const r = await lib.inspectFolder(store, { verify: true, fix: Boolean(values.fix), flavor: flavorOf(values) })
  return { output: values.json ? r : formatVerify(r, values.fix), code: r.findings.length > 0 ? EXIT.problems : EXIT.ok }
}

/** The stats of a database store (a SQLite file or a PostgreSQL account): `where` and `extra` are its own lines. */
function formatDatabaseStats(where, r, extra) {
  const keys = Object.values(r.byType).reduce((n, s) => n + s.keys, 0)
  const keyBytes = Object.values(r.byType).reduce((n, s) => n + s.bytes, 0)
  const out = [where, `credentials   ${sqliteCredsLine(r)}`, `keys          ${int(keys)} (${bytes(keyBytes)} of values)`]
  const types = Object.keys(r.byType)
  if (types.length > 0) {
    const rows = [['type', 'keys', 'bytes'], ...types.map((t) => [t, int(r.byType[t].keys), bytes(r.byType[t].bytes)])]
    for (const line of table(rows, ['l', 'r', 'r'])) out.push(`  ${line}`)
  }
  out.push(extra)
  out.push(`kept aside    ${r.quarantined}${r.quarantined ? ' (values that could not be decoded, kept in the quarantine table)' : ''}`)
  return out.join('\n')
}

function formatSqliteStats(r) {
  return formatDatabaseStats(`file          ${r.file}`, r, `on disk       ${bytes(r.fileBytes)} (database, WAL and shared memory)`)
}

function leaseLine(l) {
  if (!l) return 'never taken'
  const who = `${l.host ?? '?'} pid ${l.pid ?? '?'}`
  if (l.held) return `held by ${who} until ${new Date(l.until).toISOString()} (token ${l.token})`
  return l.until === null ? `free (released by ${who}, token ${l.token})` : `free (expired; last ${who}, token ${l.token})`
}

function formatPostgresStats(label, r) {
  return formatDatabaseStats(`account       ${label}`, r, `lease         ${leaseLine(r.lease)}`)
}

function formatAccounts(label, r) {
  if (r.accounts.length === 0) return `${label}: no accounts`
  const rows = [['account', 'keys', 'creds', 'lease'], ...r.accounts.map((a) => [a.account, int(a.keys), a.hasCreds ? 'yes' : 'no', leaseLine(a.lease)])]
  return [`${label}: ${r.accounts.length} account${r.accounts.length === 1 ? '' : 's'}`, ...table(rows, ['l', 'r', 'l', 'l']).map((l) => `  ${l}`)].join('\n')
}

function sqliteCredsLine(r) {
  if (!r.hasCreds) return 'none (a new session would start here)'
  if (r.registered === null && r.sealed > 0 && !r.findings.some((f) => f.problem === 'creds')) return 'present, encrypted (encryptionKey)'
  if (r.registered === null) return 'present but unreadable'
  if (r.registered) return `registered${r.accountId ? ` as ${r.accountId}` : ''}`
  return `present, not registered${r.accountId ? ` (account ${r.accountId})` : ' (not paired yet)'}`
}

function formatSqliteVerify(r, what = 'the database and ') {
  const out = [`checked ${what}${int(r.verified)} values in ${r.file}`]
  if (r.sealed > 0) out.push(`${int(r.sealed)} sealed (encryptionKey): not decoded, this command has no key`)
  if (r.findings.length > 0) {
    const rows = r.findings.map((f) => [f.problem, f.type === null ? (f.problem === 'creds' ? 'creds' : '(file)') : `${f.type} ${f.id}`, f.detail])
    out.push(...table(rows, ['l', 'l', 'l']).map((l) => `  ${l}`))
    out.push(`${r.findings.length} problem${r.findings.length === 1 ? '' : 's'} found`)
  } else if (r.sealed > 0) out.push(`no problems found among the ${int(r.verified)} values decoded; the ${int(r.sealed)} sealed ones were not checked`)
  else out.push(what ? 'integrity check ok; no problems found' : 'every value reads back; no problems found')
  return out.join('\n')
}

/** What a store holds, or `null` when it does not exist. */
async function exists(store) {
  return describeStore(store)
}

async function migrate(fromArg, toArg, values) {
  const flavor = flavorOf(values)
  const from = storeArg(fromArg, values, values['from-account'] ?? values.account)
  const to = storeArg(toArg, values, values['to-account'] ?? values.account)
  for (const s of [from, to]) {
    if (typeof s === 'object' && (s.account === undefined || s.account === '')) throw new UsageError('a postgres:// store needs --account NAME (or --from-account / --to-account)')
  }
  let batchSize
  if (values['batch-size'] !== undefined) {
    batchSize = Number(values['batch-size'])
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch-size must be a positive integer')
  }
  if (parseStoreSpec(from).label === parseStoreSpec(to).label) throw new UsageError('<from> and <to> are the same store')
  const source = await describeStore(from, { flavor })
  const name = (s) => parseStoreSpec(s).label
  if (source === null) throw Object.assign(new Error(`${name(from)} does not exist`), { code: 'ENOENT' })
  if (!source.hasCreds) {
    const backup = source.detail.findings?.find((f) => f.problem === 'backup')
    if (backup) throw Object.assign(new Error(`${name(from)}: ${backup.detail}`), { code: 'EBACKUP' })
    throw Object.assign(new Error(`${name(from)} has no ${source.kind === 'folder' ? 'creds.json' : 'credentials'}: nothing to migrate`), { code: 'ENOCREDS' })
  }
  const dest = await exists(to)
  const holdsData = dest && (dest.hasCreds || Object.values(dest.byType).some((n) => n > 0))
  if (holdsData && !values.force) {
    const what = dest.hasCreds ? (dest.kind === 'folder' ? 'creds.json' : 'credentials') : 'keys'
    throw Object.assign(new Error(`${name(to)} already holds auth data (${what}); use --force to replace it (its keys are deleted first)`), {
      code: 'EEXIST',
    })
  }
  const expected = lib.KEY_TYPES.reduce((n, t) => n + (source.byType[t] ?? 0), 0)
  const verifyCopy = !values['no-verify']
  const show = Boolean(values.progress) || (Boolean(process.stderr.isTTY) && expected > PROGRESS_THRESHOLD)
  const bar = show ? progressBar(process.stderr) : null
  let phase = null
  const onProgress = bar
    ? (p) => {
        if (p.phase === 'creds') return
        if (phase !== null && p.phase !== phase) bar.finish()
        phase = p.phase
        if (p.phase === 'copy') bar.update('copying', p.total, p.expected)
        else if (p.phase === 'verify') bar.update('verifying', p.checked, p.expected)
      }
    : undefined
  if (bar) bar.update('copying', 0, expected)
  let summary
  try {
    summary = await lib.migrateAuthStores(from, to, {
      verify: verifyCopy,
      batchSize,
      flavor,
      fsync: values.fsync ? true : undefined,
      clear: Boolean(holdsData),
      onProgress,
    })
  } finally {
    if (bar) bar.finish()
  }
  return { output: values.json ? summary : formatMigrate(summary), code: summary.differenceCount > 0 ? EXIT.problems : EXIT.ok }
}

// ---------------------------------------------------------------- main

function parse(argv) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(err.message)
  }
}

function describe(err) {
  if (err && err.name === 'AuthFolderLockedError') {
    return `${err.message} (stop the process that uses the folder first)`
  }
  return err && err.message ? err.message : String(err)
}

async function main(argv) {
  let parsed
  try {
    parsed = parse(argv)
  } catch (err) {
    process.stderr.write(`${NAME}: ${err.message}\n\n${HELP.main}`)
    return EXIT.usage
  }
  const { values, positionals } = parsed
  let [command, ...args] = positionals
  if (command === 'help') {
    const topic = args[0]
    process.stdout.write(HELP[topic] ?? HELP.main)
    return topic === undefined || HELP[topic] ? EXIT.ok : EXIT.usage
  }
  if (command === undefined) {
    if (values.help) {
      process.stdout.write(HELP.main)
      return EXIT.ok
    }
    process.stderr.write(HELP.main)
    return EXIT.usage
  }
  if (!Object.hasOwn(ALLOWED, command)) {
    process.stderr.write(`${NAME}: unknown command '${command}'\n\n${HELP.main}`)
    return EXIT.usage
  }
  if (values.help) {
    process.stdout.write(HELP[command])
    return EXIT.ok
  }
  try {
    const wrong = Object.keys(values).filter((k) => !ALLOWED[command].includes(k))
    if (wrong.length) throw new UsageError(`${command} does not take --${wrong.join(', --')}`)
    if (args.length !== ARITY[command]) {
      throw new UsageError(`${command} takes ${ARITY[command] === 1 ? 'one store (a folder, a SQLite file or a postgres:// URL)' : 'two stores (<from> <to>)'}, got ${args.length}`)
    }
    const run = command === 'stats' ? stats(args[0], values) : command === 'verify' ? verify(args[0], values) : migrate(args[0], args[1], values)
    const { output, code } = await run
    process.stdout.write(values.json ? `${JSON.stringify(output, null, 2)}\n` : `${output}\n`)
    return code
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${NAME} ${command}: ${err.message}\n\n${HELP[command]}`)
      return EXIT.usage
    }
    if (values.json) {
      const error = { name: err?.name ?? 'Error', code: err?.code ?? null, message: describe(err) }
      if (err?.name === 'AuthFolderLockedError') error.pid = err.pid ?? null
      if (err?.path) error.path = err.path
      process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`)
    }
    process.stderr.write(`${NAME} ${command}: ${describe(err)}\n`)
    return EXIT.failed
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    process.stderr.write(`${NAME}: ${err && err.stack ? err.stack : err}\n`)
    process.exitCode = EXIT.failed
  },
)
