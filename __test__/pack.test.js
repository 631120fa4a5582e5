'use strict'
// The package as users get it: `npm pack`, then `npm install <tarball>` into a
// fresh project outside this repository, where `require()` and `import` both
// work, the types resolve, and a round trip through `useMultiFileAuthState`
// succeeds. Also checks the napi-rs layout (`napi.targets`, `npm/<platform>`
// packages, `optionalDependencies`) is consistent and `napi prepublish` would
// accept it.
//
// The platform packages in `optionalDependencies` are not on the registry
// (nothing is published yet): npm skips optional dependencies it cannot
// fetch, so the install must still succeed, and the loader must then find the
// `.node` shipped in the tarball itself. The install runs `--offline` (the
// tarball has no other dependencies); should that ever fail, it is retried
// with `--prefer-offline`, and the test says which one worked.
//
// Each platform package `npm/<platform>` is packed too, with its binary in
// place (this machine's own build where there is one, a stand-in file for the
// other targets): its `os` / `cpu` / `libc` must be the target's, and it must
// ship that one binary. A real binary's own headers (ELF, Mach-O, PE) must
// agree with those fields, so a binary put in the wrong package is caught.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const zlib = require('node:zlib')

const { describeBinary, mismatches } = require('./support/binary-format.js')
const { describeTarget } = require('./support/targets.js')

const ROOT = path.join(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
// The npm that runs us (`npm run test:js`) through node itself, which also
// works on Windows, where spawning npm.cmd needs a shell; else npm from PATH.
const NPM = 'npm'
const NPM_CLI = /npm-cli\.js$/.test(process.env.npm_execpath || '') ? process.env.npm_execpath : null
const NPM_COMMAND = NPM_CLI ? [process.execPath, NPM_CLI] : [process.platform === 'win32' ? 'npm.cmd' : 'npm']

jest.setTimeout(300_000)

const roots = []
function tmpDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-pack-${tag}-`))
  roots.push(d)
  return d
}
afterAll(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
})

function run(cmd, args, cwd, extraEnv = {}) {
  if (cmd === NPM) [cmd, ...args] = [...NPM_COMMAND, ...args]
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', ...extraEnv },
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.error) throw r.error
  return r
}
function ok(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r
}

/** The napi-rs platform name of a Rust target triple. */
function platformArchABI(triple) {
  return describeTarget(triple).name
}

/** The binaries built on this machine (or downloaded from CI) beside package.json. */
function localBinaries() {
  return fs.readdirSync(ROOT).filter((f) => /^baileys-auth-native\..+\.node$/.test(f))
}

/** The entries of a .tgz (npm's tarballs: gzip, ustar), as { path: Buffer }. */
function readTarball(file) {
  const tar = zlib.gunzipSync(fs.readFileSync(file))
  const out = {}
  for (let o = 0; o + 512 <= tar.length; ) {
    const header = tar.subarray(o, o + 512)
    if (header.every((b) => b === 0)) break
    const field = (at, len) => header.toString('utf8', at, at + len).replace(/\0.*$/s, '')
    const prefix = field(345, 155)
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)
    const size = parseInt(field(124, 12).trim() || '0', 8)
    const type = field(156, 1)
    if (type === '0' || type === '') out[name] = tar.subarray(o + 512, o + 512 + size)
    o += 512 + Math.ceil(size / 512) * 512
  }
  return out
}

let tarball
let packedFiles
let project
let installedWith
let installedDir

beforeAll(() => {
  const dest = tmpDir('tarball')
  const packed = ok(run(NPM, ['pack', '--json', '--pack-destination', dest], ROOT), 'npm pack')
  const [info] = JSON.parse(packed.stdout)
  tarball = path.join(dest, info.filename)
  packedFiles = info.files.map((f) => f.path)

  project = tmpDir('project')
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'a-user-project', version: '1.0.0', private: true }, null, 2),
  )
  for (const mode of ['--offline', '--prefer-offline']) {
    const r = run(NPM, ['install', tarball, mode, '--no-audit', '--no-fund'], project)
    if (r.status === 0) {
      installedWith = mode
      break
    }
    console.warn(`npm install ${mode} failed (${r.status}), trying the next mode:\n${r.stderr}`)
  }
  installedDir = path.join(project, 'node_modules', pkg.name)
})

test('npm pack ships the wrapper, the loader, the types and the local addon; no sources', () => {
  const binary = fs.readdirSync(ROOT).filter((f) => /^baileys-auth-native\..+\.node$/.test(f))
  expect(binary.length).toBeGreaterThan(0)
  for (const f of [
    'package.json',
    'index.js',
    'index.mjs',
    'index.d.ts',
    'load-binding.js',
    'binding.js',
    'binding.d.ts',
    'LICENSE',
    'README.md',
    'CHANGELOG.md',
    ...binary,
  ]) {
    expect(packedFiles).toContain(f)
  }
  for (const bin of Object.values(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : pkg.bin || {})) {
    expect(packedFiles).toContain(path.posix.normalize(bin))
  }
  for (const f of packedFiles) {
    expect(f).not.toMatch(/^(src|core|target|node_modules|__test__|bench|demo|scripts|scratch|npm|auth_info_baileys)\//)
    expect(f).not.toMatch(/\.(rs|toml|lock)$/)
  }
  // Every relative require of a shipped file is shipped too (but for the
  // loader's probes of other platforms' binaries).
  for (const f of packedFiles.filter((p) => /\.(c|m)?js$/.test(p))) {
    const src = fs.readFileSync(path.join(ROOT, f), 'utf8')
    for (const [, rel] of src.matchAll(/require\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
      if (f === 'binding.js' && /\.(node|wasm)$|\.wasi/.test(rel)) continue
      let target = path.posix.normalize(path.posix.join(path.posix.dirname(f), rel))
      if (!packedFiles.includes(target) && packedFiles.includes(`${target}.js`)) target = `${target}.js`
      expect({ from: f, require: rel, shipped: packedFiles.includes(target) }).toEqual({
        from: f,
        require: rel,
        shipped: true,
      })
    }
  }
})

test('the napi-rs layout is consistent: targets, npm/<platform> packages, optionalDependencies', () => {
  expect(pkg.napi.binaryName).toBe('baileys-auth-native')
  expect(pkg.napi.targets).toContain('x86_64-unknown-linux-gnu')
  expect(pkg.scripts.prepublishOnly).toBe('napi prepublish -t npm')
  expect(pkg.license).toBe('MIT')
  expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
  const expectedOptional = {}
  // napi's own reading of each triple (its package loads ESM dependencies,
  // which jest's module system does not: so in a child node).
  const napiSays = JSON.parse(
    ok(
      run(process.execPath, ['-e', `const { parseTriple } = require('@napi-rs/cli'); console.log(JSON.stringify(process.argv.slice(1).map(parseTriple)))`, ...pkg.napi.targets], ROOT),
      'parseTriple',
    ).stdout,
  )
  for (const [i, triple] of pkg.napi.targets.entries()) {
    const t = describeTarget(triple)
    const abi = t.name
    // ... gives the same names as ours.
    expect({ triple, name: napiSays[i].platformArchABI, os: napiSays[i].platform, cpu: napiSays[i].arch })
      .toEqual({ triple, name: abi, os: t.os, cpu: t.cpu })
    const name = `${pkg.name}-${abi}`
    expectedOptional[name] = pkg.version
    const sub = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', abi, 'package.json'), 'utf8'))
    expect(sub).toMatchObject({
      name,
      version: pkg.version,
      main: `${pkg.napi.binaryName}.${abi}.node`,
      files: [`${pkg.napi.binaryName}.${abi}.node`],
      license: pkg.license,
      os: [t.os],
      cpu: [t.cpu],
    })
    // libc only where npm reads it: Linux.
    if (t.libc) expect(sub.libc).toEqual([t.libc])
    else expect(sub.libc).toBeUndefined()
    // The generated loader looks for exactly these names.
    const loader = fs.readFileSync(path.join(ROOT, 'binding.js'), 'utf8')
    expect(loader).toContain(`'./${pkg.napi.binaryName}.${abi}.node'`)
    expect(loader).toContain(`'${name}'`)
  }
  // The repository leaves them out: `npm ci` would fail on a lock file that
  // cannot record unpublished packages. `napi prepublish` adds exactly these
  // (the platform packages, at this version) when publishing.
  expect(pkg.optionalDependencies).toBeUndefined()
  expect(Object.keys(expectedOptional).length).toBe(pkg.napi.targets.length)
  // One folder per target, none left over from a dropped one.
  const folders = fs.readdirSync(path.join(ROOT, 'npm'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
  expect(folders.sort()).toEqual(pkg.napi.targets.map(platformArchABI).sort())
})

test('napi prepublish -t npm accepts the layout (dry run, in a staged copy with the artifacts in place)', () => {
  // What CI does before publishing: the built binaries land in npm/<platform>
  // (`napi artifacts`). Here only this machine's binary exists: the other
  // targets get a stand-in file, which the dry run only checks for presence.
  const stage = tmpDir('prepublish')
  for (const f of ['package.json', 'index.js', 'index.mjs', 'index.d.ts', 'binding.js', 'binding.d.ts']) {
    fs.copyFileSync(path.join(ROOT, f), path.join(stage, f))
  }
  fs.cpSync(path.join(ROOT, 'npm'), path.join(stage, 'npm'), { recursive: true })
  // ('junction' on Windows, where a directory symlink needs a privilege; ignored elsewhere)
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'junction')
  const local = fs.readdirSync(ROOT).find((f) => /^baileys-auth-native\..+\.node$/.test(f))
  for (const triple of pkg.napi.targets) {
    const abi = platformArchABI(triple)
    const file = `${pkg.napi.binaryName}.${abi}.node`
    if (file === local) fs.copyFileSync(path.join(ROOT, local), path.join(stage, 'npm', abi, file))
    else fs.writeFileSync(path.join(stage, 'npm', abi, file), 'stand-in for a CI artifact\n')
  }
  const git = (...a) => ok(run('git', a, stage, { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }), `git ${a[0]}`)
  git('init', '-q')
  git('add', '-A')
  git('commit', '-qm', 'release')
  const napi = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
  const env = { GITHUB_REPOSITORY: '', GITHUB_TOKEN: '' }
  ok(run(process.execPath, [napi, 'prepublish', '-t', 'npm', '--dry-run'], stage, env), 'napi prepublish --dry-run')
})

// Each platform package as npm would publish it, its binary in place: the
// real one where this machine has it (what `napi artifacts` puts there in CI),
// a stand-in file for the others.
describe.each(pkg.napi.targets.map((triple) => [describeTarget(triple).name, describeTarget(triple)]))(
  'npm/%s packs as its own platform package',
  (abi, target) => {
    const file = `${pkg.napi.binaryName}.${abi}.node`
    const real = localBinaries().includes(file)
    let stage
    let dryRun
    let manifest
    let entries

    beforeAll(() => {
      stage = path.join(tmpDir(`platform-${abi}`), abi)
      fs.cpSync(path.join(ROOT, 'npm', abi), stage, { recursive: true })
      if (real) fs.copyFileSync(path.join(ROOT, file), path.join(stage, file))
      else fs.writeFileSync(path.join(stage, file), 'stand-in for a CI artifact\n')
      const r = ok(run(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], stage), `npm pack --dry-run in npm/${abi}`)
      ;[dryRun] = JSON.parse(r.stdout)
      // The real tarball, for the manifest as npm writes it.
      const dest = tmpDir(`platform-${abi}-tgz`)
      const packed = ok(run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], stage), `npm pack in npm/${abi}`)
      entries = readTarball(path.join(dest, JSON.parse(packed.stdout)[0].filename))
      manifest = JSON.parse(entries['package/package.json'].toString('utf8'))
    })

    test(`ships only ${file} besides package.json and README.md`, () => {
      expect(dryRun.name).toBe(`${pkg.name}-${abi}`)
      expect(dryRun.version).toBe(pkg.version)
      expect(dryRun.files.map((f) => f.path).sort()).toEqual([file, 'README.md', 'package.json'].sort())
      // The tarball holds what the dry run announced.
      expect(Object.keys(entries).sort()).toEqual(dryRun.files.map((f) => `package/${f.path}`).sort())
      expect(manifest.main).toBe(file)
    })

    test(`os / cpu / libc are ${[target.os, target.cpu, target.libc].filter(Boolean).join(' / ')}`, () => {
      expect(manifest.os).toEqual([target.os])
      expect(manifest.cpu).toEqual([target.cpu])
      if (target.libc) expect(manifest.libc).toEqual([target.libc])
      else expect(manifest.libc).toBeUndefined()
    })

    ;(real ? test : test.skip)(`the real ${file} is built for what the package says (its own headers)`, () => {
      const shipped = entries[`package/${file}`]
      expect(shipped.equals(fs.readFileSync(path.join(ROOT, file)))).toBe(true)
      const bin = describeBinary(shipped)
      console.log(`${file}: ${JSON.stringify(bin)}`)
      expect(bin.bits).toBe(64)
      expect(mismatches(bin, manifest)).toEqual([])
    })
  },
)

test('the header check tells the real local binary from a mislabelled one', () => {
  const binaries = localBinaries()
  expect(binaries.length).toBeGreaterThan(0)
  for (const file of binaries) {
    const abi = /^baileys-auth-native\.(.+)\.node$/.exec(file)[1]
    const bin = describeBinary(fs.readFileSync(path.join(ROOT, file)))
    if (abi === 'linux-x64-gnu') {
      // The x86-64 glibc build: ELF64, e_machine x86-64, and it needs glibc's
      // libc.so.6 or its loader ld-linux-x86-64.
      expect(bin).toMatchObject({ format: 'elf', bits: 64, os: 'linux', cpu: 'x64', libc: 'glibc' })
      expect([...bin.needed, bin.interp || ''].some((l) => /(^|\/)(libc\.so\.6|ld-linux-x86-64\.so\.2)$/.test(l))).toBe(true)
    }
    for (const triple of pkg.napi.targets) {
      const other = describeTarget(triple)
      const fields = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', other.name, 'package.json'), 'utf8'))
      const found = mismatches(bin, fields)
      // Right in its own package, caught in every other one.
      if (other.name === abi) expect({ package: other.name, found }).toEqual({ package: other.name, found: [] })
      else expect({ package: other.name, caught: found.length > 0 }).toEqual({ package: other.name, caught: true })
    }
  }
  // The reader itself, on a binary whose platform is known: the running node.
  if (process.platform === 'linux' || process.platform === 'darwin' || process.platform === 'win32') {
    const self = describeBinary(fs.readFileSync(process.execPath))
    expect({ os: self.os, cpu: self.cpu }).toEqual({ os: process.platform, cpu: process.arch })
  }
})

test('npm install <tarball> succeeds although the platform packages are not published', () => {
  expect(installedWith).toBeDefined()
  console.log(`installed the tarball with npm install ${installedWith}`)
  expect(fs.existsSync(path.join(installedDir, 'package.json'))).toBe(true)
  expect(fs.existsSync(path.join(installedDir, 'index.d.ts'))).toBe(true)
  // None of the optional platform packages could be fetched.
  for (const name of Object.keys(pkg.optionalDependencies || {})) {
    expect(fs.existsSync(path.join(project, 'node_modules', name))).toBe(false)
  }
})

const roundTrip = `
  const folder = path.join(process.argv[2], 'auth')
  const first = await useMultiFileAuthState(folder)
  first.state.creds.registered = true
  await first.saveCreds()
  await first.state.keys.set({ 'pre-key': { 1: { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } }, session: { 'a.0': Buffer.from('s') } })
  const again = await useMultiFileAuthState(folder)
  const { 1: preKey, 2: missing } = await again.state.keys.get('pre-key', ['1', '2'])
  const ids = []
  for await (const id of again.state.keys.listIds('session')) ids.push(id)
  const ok = again.state.creds.registered === true && Buffer.from(preKey.private).equals(Buffer.alloc(32, 2)) &&
    missing === null && ids.join() === 'a.0' &&
    JSON.stringify(Object.keys(initAuthCreds())) !== '[]' && encodeAuthValue({ a: 1 }).toString() === '{"a":1}'
  const files = fs.readdirSync(folder).sort()
`

test('require() works in the fresh project, and loads the addon shipped in the tarball', () => {
  const script = path.join(project, 'use.cjs')
  fs.writeFileSync(
    script,
    `const fs = require('node:fs'); const path = require('node:path')
const { useMultiFileAuthState, initAuthCreds, encodeAuthValue, AuthFolderLockedError } = require('${pkg.name}')
;(async () => {
${roundTrip}
  const addon = Object.keys(require.cache).find((k) => k.endsWith('.node'))
  console.log(JSON.stringify({ ok, files, addon, resolved: require.resolve('${pkg.name}'), errorClass: typeof AuthFolderLockedError }))
})().catch((e) => { console.error(e); process.exit(1) })
`,
  )
  const r = ok(run(process.execPath, [script, project], project), 'require script')
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  expect(out.ok).toBe(true)
  expect(out.files).toEqual(['.baileys-auth.lock', 'creds.json', 'pre-key-1.json', 'session-a.0.json'])
  expect(out.resolved).toBe(path.join(fs.realpathSync(installedDir), 'index.js'))
  expect(fs.realpathSync(out.addon).startsWith(fs.realpathSync(installedDir) + path.sep)).toBe(true)
  expect(out.errorClass).toBe('function')
})

test('import works in the fresh project (named and default exports)', () => {
  const script = path.join(project, 'use.mjs')
  fs.writeFileSync(
    script,
    `import fs from 'node:fs'; import path from 'node:path'
import pkg, { useMultiFileAuthState, initAuthCreds, encodeAuthValue } from '${pkg.name}'
${roundTrip}
console.log(JSON.stringify({ ok, files, same: pkg.useMultiFileAuthState === useMultiFileAuthState, resolved: import.meta.resolve('${pkg.name}') }))
`,
  )
  const r = ok(run(process.execPath, [script, project], project), 'import script')
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  expect(out.ok).toBe(true)
  expect(out.files).toEqual(['.baileys-auth.lock', 'creds.json', 'pre-key-1.json', 'session-a.0.json'])
  expect(out.same).toBe(true)
  expect(out.resolved).toMatch(/\/node_modules\/baileys-auth-native\/index\.mjs$/)
})

test('the installed index.d.ts resolves and type-checks in the fresh project', () => {
  const file = path.join(project, 'use.ts')
  fs.writeFileSync(
    file,
    `import { useMultiFileAuthState, type AuthenticationState } from '${pkg.name}'
export async function f(): Promise<AuthenticationState> {
  const { state, saveCreds } = await useMultiFileAuthState('auth')
  await saveCreds()
  const k = await state.keys.get('pre-key', ['1'])
  const pub: Uint8Array | undefined = k['1']?.public
  void pub
  return state
}
`,
  )
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
  const r = run(
    process.execPath,
    [
      tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), '--pretty', 'false', file,
    ],
    project,
  )
  expect(`${r.stdout}${r.stderr}`).toBe('')
  expect(r.status).toBe(0)
})
