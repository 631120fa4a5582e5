'use strict'
// index.d.ts against the real types of both Baileys lines: programs a user
// writes (__test__/types/v6.ts, v7.ts, v7-esm.mts) must compile with `tsc --noEmit
// --strict` — the returned `state` assignable to Baileys' AuthenticationState,
// `saveCreds` usable as the `creds.update` listener, ours and Baileys' helper
// interchangeable — and the test must be able to fail: deliberate misuse is
// reported line by line, and a copy of index.d.ts with its assignability
// broken makes the same programs fail.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const TYPES = path.join(__dirname, 'types')
const INDEX_DTS = path.join(ROOT, 'index.d.ts')
const TS_DIR = path.dirname(require.resolve('typescript/package.json'))
const TSC = path.join(TS_DIR, 'bin', 'tsc')
const TS_VERSION = require('typescript/package.json').version

// The first run may read a few hundred .d.ts files from a cold disk.
jest.setTimeout(300_000)

const roots = []
function tmpDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-types-'))
  roots.push(d)
  return d
}
afterAll(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
})

/** `tsc -p <config> --noEmit --strict`: `{ status, output, errors: [{ file, line, code, text }] }`. */
function tsc(config) {
  const r = spawnSync(process.execPath, [TSC, '-p', config, '--noEmit', '--strict', '--pretty', 'false'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  if (r.error) throw r.error
  const output = `${r.stdout}${r.stderr}`
  const errors = []
  for (const m of output.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/gm)) {
    errors.push({ file: path.resolve(ROOT, m[1]), line: Number(m[2]), code: m[3], text: m[4] })
  }
  return { status: r.status, output, errors }
}

/** A tsconfig in a temporary folder extending ours, with other files and options. */
function tempConfig(files, compilerOptions = {}) {
  const dir = tmpDir()
  const config = path.join(dir, 'tsconfig.json')
  fs.writeFileSync(
    config,
    JSON.stringify({ extends: path.join(TYPES, 'tsconfig.json'), compilerOptions, files }, null, 2),
  )
  return config
}

test(`typescript ${TS_VERSION}: the tsc CLI is there`, () => {
  const r = spawnSync(process.execPath, [TSC, '--version'], { encoding: 'utf8' })
  expect(r.status).toBe(0)
  expect(r.stdout).toContain(`Version ${TS_VERSION}`)
})

test('index.d.ts imports nothing from Baileys', () => {
  const dts = fs.readFileSync(INDEX_DTS, 'utf8')
  expect(dts).not.toMatch(/\bfrom\s+['"](baileys|@whiskeysockets\/baileys)/)
  expect(dts).not.toMatch(/import\(\s*['"](baileys|@whiskeysockets\/baileys)/)
})

test('index.d.ts declares exactly what index.js exports', () => {
  const dts = fs.readFileSync(INDEX_DTS, 'utf8')
  const declared = new Set(
    [...dts.matchAll(/^export declare (?:function|const|class) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]),
  )
  const exported = Object.keys(require('..'))
  expect([...declared].sort()).toEqual([...new Set(exported)].sort())
  // …and the ESM entry re-exports every one of them by name.
  const mjs = fs.readFileSync(path.join(ROOT, 'index.mjs'), 'utf8')
  const block = /export const \{([^}]*)\} = native/.exec(mjs)
  expect(block).not.toBeNull()
  const named = block[1].split(',').map((n) => n.trim()).filter(Boolean)
  expect(named.sort()).toEqual([...declared].sort())
})

test('v6 and v7 programs (CommonJS and ESM) compile with --strict against both lines', () => {
  const r = tsc(path.join(TYPES, 'tsconfig.json'))
  expect(r.output).toBe('')
  expect(r.status).toBe(0)
})

test('index.d.ts itself compiles with every declaration file checked', () => {
  const r = tsc(path.join(TYPES, 'tsconfig.api.json'))
  expect(r.output).toBe('')
  expect(r.status).toBe(0)
})

test('deliberate misuse is reported on exactly the lines marked ✗ (v6 and v7)', () => {
  const files = ['v6-misuse.ts', 'v7-misuse.ts'].map((f) => path.join(TYPES, 'negative', f))
  const expected = []
  for (const file of files) {
    fs.readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text.includes('// ✗')) expected.push(`${file}:${i + 1}`)
      })
  }
  expect(expected.length).toBeGreaterThanOrEqual(12)
  const r = tsc(tempConfig(files))
  expect(r.status).not.toBe(0)
  const reported = [...new Set(r.errors.map((e) => `${e.file}:${e.line}`))]
  expect(reported.sort()).toEqual(expected.sort())
})

// Each mutation of index.d.ts breaks assignability to Baileys' types; the
// unchanged v6.ts and v7.ts must then fail to compile, in both files.
const mutations = [
  {
    what: 'creds.registrationId becomes a string',
    from: '  registrationId: number\n',
    to: '  registrationId: string\n',
  },
  {
    what: 'keys.set takes a second, required argument',
    from: '  set(data: SignalDataSet): Promise<void>\n',
    to: '  set(data: SignalDataSet, flush: boolean): Promise<void>\n',
  },
  {
    what: 'saveCreds wants the full credentials',
    from: '  saveCreds: () => Promise<void>\n',
    to: '  saveCreds: (creds: AuthenticationCreds) => Promise<void>\n',
  },
  {
    what: 'creds loses signedPreKey',
    from: '  signedPreKey: SignedKeyPair\n',
    to: '',
  },
]

test.each(mutations)('a broken index.d.ts fails the build: $what', ({ from, to }) => {
  const original = fs.readFileSync(INDEX_DTS, 'utf8')
  expect(original.split(from).length).toBe(2) // the mutation applies exactly once
  const dir = tmpDir()
  const broken = path.join(dir, 'index.d.ts')
  fs.writeFileSync(broken, original.replace(from, to))
  const files = ['v6.ts', 'v7.ts', 'v7-esm.mts'].map((f) => path.join(TYPES, f))
  const r = tsc(tempConfig(files, { paths: { 'baileys-auth-native': [broken] } }))
  expect(r.status).not.toBe(0)
  const failing = [...new Set(r.errors.map((e) => path.basename(e.file)))].sort()
  expect(failing).toEqual(['v6.ts', 'v7-esm.mts', 'v7.ts'])
})
