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

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

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

/** The napi-rs platform name of a Rust target triple (linux only here). */
function platformArchABI(triple) {
  const m = /^(x86_64|aarch64)-unknown-linux-(gnu|musl)$/.exec(triple)
  if (!m) throw new Error(`unexpected target ${triple}: teach this test its platform name`)
  return `linux-${m[1] === 'x86_64' ? 'x64' : 'arm64'}-${m[2]}`
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
  for (const triple of pkg.napi.targets) {
    const abi = platformArchABI(triple)
    const name = `${pkg.name}-${abi}`
    expectedOptional[name] = pkg.version
    const sub = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', abi, 'package.json'), 'utf8'))
    expect(sub).toMatchObject({
      name,
      version: pkg.version,
      main: `${pkg.napi.binaryName}.${abi}.node`,
      files: [`${pkg.napi.binaryName}.${abi}.node`],
      license: pkg.license,
      os: ['linux'],
      cpu: [abi.includes('x64') ? 'x64' : 'arm64'],
      libc: [abi.endsWith('musl') ? 'musl' : 'glibc'],
    })
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
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'))
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
