'use strict'
// A throw-away PostgreSQL server for the tests and scripts/with-postgres.js.
//
//   const pg = await startPostgres({ ssl })   // ssl: false | true | 'required'
//   pg.host, pg.port, pg.user, pg.password, pg.database, pg.url, pg.dataDir
//   pg.certs                   // with ssl: { ca: path of the CA's PEM, caPem }
//   await pg.psql(sql, { env, database })   // psql -tA over TCP; its stdout
//   await pg.stopServerOnly() / pg.startServerOnly() / pg.restart()
//   await pg.stop()            // stops the server and removes its folder
//
// Each call makes a fresh cluster in a temporary folder of its own (data
// directory, unix socket, log, certificates), owned by the server's OS user:
// `postgres` when we are root (initdb refuses root), else ourselves. It
// listens on 127.0.0.1 only, on a free port, with scram-sha-256 password auth
// over TCP for a superuser role ban_test, database baileys_test. fsync stays
// on: the benchmarks measure durable commits. ssl: true accepts TLS and plain
// TCP; ssl: 'required' writes only `hostssl` lines, so plain TCP is refused.
//
// A server must not outlive its test run, even one that crashes (the native
// addon under test can segfault a jest worker). A small watchdog process sees
// our death as the end of its stdin pipe, whatever the cause, and stops the
// server and removes the folder; inside jest it is the only guard, since
// jest's sandboxed `process` never emits 'exit'. Elsewhere (scripts) a
// process 'exit' handler also stops it synchronously.

const { execFile, spawn, spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { promisify } = require('node:util')

const execFileP = promisify(execFile)
const HOST = '127.0.0.1'
const USER = 'ban_test'
const DATABASE = 'baileys_test'
const IS_ROOT = process.getuid?.() === 0

// The server binaries: $BAN_PG_BINDIR, else the highest version under
// /usr/lib/postgresql (Debian keeps them off PATH), else `pg_config --bindir`,
// else PATH.
// Windows: the runner's installer sets PGBIN; its programs end in .exe.
const WINDOWS = process.platform === 'win32'
const EXE = WINDOWS ? '.exe' : ''
let binDirCache
function binDir() {
  if (binDirCache) return binDirCache
  const has = (dir) => dir && fs.existsSync(path.join(dir, 'initdb' + EXE)) && fs.existsSync(path.join(dir, 'pg_ctl' + EXE))
  const candidates = [process.env.BAN_PG_BINDIR, process.env.PGBIN]
  try {
    const versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => /^\d+(\.\d+)?$/.test(v))
    versions.sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`))
  } catch {}
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' })
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim())
  candidates.push(...(process.env.PATH || '').split(path.delimiter))
  binDirCache = candidates.find(has)
  if (!binDirCache) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin, ' +
        'pg_config --bindir or PATH: install them (Debian: apt-get install -y postgresql) or set BAN_PG_BINDIR',
    )
  }
  return binDirCache
}

// psql of the same version when it is there, else the one on PATH.
function psqlBin() {
  const own = path.join(binDir(), 'psql' + EXE)
  return fs.existsSync(own) ? own : 'psql'
}

// The OS user that owns and runs the server.
let ownerCache
function serverOwner() {
  if (ownerCache) return ownerCache
  // (no uids on Windows: chown is a no-op there)
  if (!IS_ROOT) return (ownerCache = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 })
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' })
  const uid = id('-u')
  const gid = id('-g')
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error("running as root, but there is no 'postgres' user to run the PostgreSQL server as")
  }
  return (ownerCache = { uid: Number(uid.stdout), gid: Number(gid.stdout) })
}

// The environment without the caller's PG* variables (a PGHOST, PGPORT or
// PGSSLMODE set by scripts/with-postgres.js for another server must not leak
// into the commands for this one).
function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v
  return Object.assign(env, extra)
}

// A server binary's command line, as the server's user.
function serverCommand(bin, args) {
  const file = path.join(binDir(), bin)
  return IS_ROOT ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]
}

// cwd '/': the server's user may not be allowed into ours (initdb warns).
async function asServer(bin, args) {
  const [cmd, argv] = serverCommand(bin, args)
  return execFileP(cmd, argv, { cwd: '/', env: cleanEnv(), timeout: 120000 })
}

// `pg_ctl start`, as the server's user, awaited until pg_ctl exits (not until
// its output closes): on Windows the postmaster inherits pg_ctl's handles and
// would hold a pipe open for its whole life (execFile would never return), so
// pg_ctl writes to a file, read back for the error.
async function pgCtlStartAs(args, outFile) {
  const [cmd, argv] = serverCommand('pg_ctl', args)
  const out = fs.openSync(outFile, 'w')
  try {
    const child = spawn(cmd, argv, { cwd: '/', env: cleanEnv(), stdio: ['ignore', out, out], windowsHide: true })
    const [code, signal] = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 120000)
      child.on('error', (e) => (clearTimeout(timer), reject(e)))
      child.on('exit', (c, sig) => (clearTimeout(timer), resolve([c, sig])))
    })
    if (code !== 0) {
      const text = fs.readFileSync(outFile, 'utf8')
      throw Object.assign(new Error(`Command failed: ${cmd} ${argv.join(' ')}\n${text}`), { code, signal, stderr: text })
    }
  } finally {
    fs.closeSync(out)
  }
}

// Best-effort synchronous stop and removal, for the exit handler and the
// watchdog: an immediate stop (the data is thrown away), then SIGKILL.
function stopAndRemoveSync({ dir, dataDir, bin }) {
  binDirCache ||= bin
  if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
    const [cmd, argv] = serverCommand('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10'])
    spawnSync(cmd, argv, { cwd: '/', env: cleanEnv(), stdio: 'ignore', timeout: 15000 })
    killPostmaster(dataDir)
  }
  fs.rmSync(dir, { recursive: true, force: true })
}

function postmasterPid(dataDir) {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null
  } catch {
    return null
  }
}

function killPostmaster(dataDir) {
  const pid = postmasterPid(dataDir)
  try {
    if (pid) process.kill(pid, 'SIGKILL')
  } catch {}
}

// Whether pid still runs. A zombie does not: pg_ctl leaves the postmaster to
// PID 1, which in a container may never reap it.
function isRunning(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z'
  } catch (e) {
    if (e.code === 'ENOENT') return false
    try {
      process.kill(pid, 0) // no /proc
      return true
    } catch {
      return false
    }
  }
}

// One exit handler per module instance, for every server still running.
const live = new Set()
let exitHandlerInstalled = false
function track(server) {
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true
    process.on('exit', () => {
      for (const s of live) stopAndRemoveSync(s)
    })
  }
  live.add(server)
}

function startWatchdog(paths) {
  const child = spawn(process.execPath, [__filename, '--watchdog', JSON.stringify(paths)], {
    detached: true, // its own session: a Ctrl-C to our group must not end it first
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  child.on('error', () => {}) // best effort: the exit handler is still there
  child.unref()
  child.stdin.unref?.()
  return child
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function opensslCheck() {
  const r = spawnSync('openssl', ['version'], { stdio: 'ignore' })
  if (r.error || r.status !== 0) {
    throw new Error('the openssl CLI is needed for startPostgres({ ssl }): install it (Debian: apt-get install -y openssl)')
  }
}

// A throw-away CA and a server certificate it signs, for 127.0.0.1 and
// localhost. P-256 keys: generated in milliseconds, accepted by libpq, Node
// and rustls alike. Our own minimal config files keep the system's
// openssl.cnf (and its default extensions) out of it.
async function makeCerts(dir) {
  opensslCheck()
  const f = (name) => path.join(dir, name)
  fs.writeFileSync(
    f('ca.cnf'),
    '[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n' +
      '[dn]\nCN = baileys-auth-native test CA\n' +
      '[ext]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n' +
      'subjectKeyIdentifier = hash\n',
  )
  fs.writeFileSync(
    f('server.cnf'),
    '[req]\ndistinguished_name = dn\nprompt = no\n' +
      '[dn]\nCN = 127.0.0.1\n' +
      '[ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n' +
      'extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n' +
      'subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n',
  )
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const openssl = (args) => execFileP('openssl', args, { cwd: dir })
  await openssl(['req', '-x509', '-config', f('ca.cnf'), ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '7'])
  await openssl(['req', '-new', '-config', f('server.cnf'), ...ec, '-keyout', f('server.key'), '-out', f('server.csr')])
  await openssl([
    'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-set_serial', '0x' + crypto.randomBytes(8).toString('hex'), '-days', '7',
    '-extfile', f('server.cnf'), '-extensions', 'ext', '-out', f('server.crt'),
  ])
  // The server refuses a key that others can read; it must be its user's.
  const { uid, gid } = serverOwner()
  for (const name of ['server.key', 'server.crt', 'ca.pem']) fs.chownSync(f(name), uid, gid)
  fs.chmodSync(f('server.key'), 0o600)
  return { ca: f('ca.pem'), caPem: fs.readFileSync(f('ca.pem'), 'utf8') }
}

async function startPostgres({ ssl = false } = {}) {
  if (![false, true, 'required'].includes(ssl)) throw new TypeError(`ssl: false, true or 'required', not ${ssl}`)
  const bin = binDir()
  const { uid, gid } = serverOwner()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-pg-'))
  const dataDir = path.join(dir, 'data')
  const logFile = path.join(dir, 'postgres.log')
  const password = crypto.randomBytes(16).toString('hex')
  let port = await freePort()
  let certs
  let watchdog
  let running = false
  const paths = { dir, dataDir, bin }

  const pgCtlStart = async () => {
    const from = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0
    try {
      await pgCtlStartAs(['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s'], path.join(dir, 'pg_ctl.out'))
      return null
    } catch (e) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile).subarray(from).toString() : ''
      e.message += `\n--- server log ---\n${log}`
      e.portTaken = /could not bind|already in use/i.test(log)
      return e
    }
  }

  try {
    fs.chownSync(dir, uid, gid)
    const pwFile = path.join(dir, 'pwfile')
    fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 })
    fs.chownSync(pwFile, uid, gid)
    watchdog = startWatchdog(paths)
    track(paths)

    // -N: no fsync of the fresh cluster itself (throw-away); the server
    // below still runs with fsync=on.
    await asServer('initdb', [
      '-D', dataDir, '-U', USER, `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C', '-N',
      '--auth-local=trust', '--auth-host=scram-sha-256',
    ])
    fs.rmSync(pwFile)
    if (ssl) certs = await makeCerts(dir)

    const hostType = ssl === 'required' ? 'hostssl' : 'host'
    fs.writeFileSync(
      path.join(dataDir, 'pg_hba.conf'),
      `local all all trust\n${hostType} all all 127.0.0.1/32 scram-sha-256\n`,
    )
    // Paths with forward slashes: a backslash is an escape in postgresql.conf.
    const confPath = (p) => p.split(path.sep).join('/')
    const conf = [
      `listen_addresses = '${HOST}'`,
      // No Unix socket on Windows: the one local connection below goes over TCP.
      `unix_socket_directories = '${WINDOWS ? '' : confPath(dir)}'`,
      'fsync = on',
      'synchronous_commit = on',
      "password_encryption = 'scram-sha-256'",
    ]
    if (ssl) {
      conf.push('ssl = on', `ssl_cert_file = '${confPath(path.join(dir, 'server.crt'))}'`, `ssl_key_file = '${confPath(path.join(dir, 'server.key'))}'`)
    }
    conf.push(`port = ${port}`)
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), '\n# startPostgres\n' + conf.join('\n') + '\n')

    // The port was free a moment ago; a parallel worker may have taken it
    // since. A later `port =` line wins over an earlier one.
    for (let attempt = 1; ; attempt++) {
      const err = await pgCtlStart()
      if (!err) break
      if (!err.portTaken || attempt === 5) throw err
      port = await freePort()
      fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `port = ${port}\n`)
    }
    running = true

    await execFileP(psqlBin(), ['-X', '-q', '-h', WINDOWS ? HOST : dir, '-p', String(port), '-U', USER, '-d', 'postgres', '-c', `CREATE DATABASE ${DATABASE}`], {
      env: cleanEnv(WINDOWS ? { PGPASSWORD: password } : {}),
    })
  } catch (e) {
    live.delete(paths)
    stopAndRemoveSync(paths)
    watchdog?.kill('SIGKILL')
    throw e
  }

  const stopServerOnly = async () => {
    if (!running) return
    const pid = postmasterPid(dataDir)
    try {
      await asServer('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-s'])
    } catch {
      try {
        await asServer('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10', '-s'])
      } catch {
        killPostmaster(dataDir)
      }
    }
    // pg_ctl returns once postmaster.pid is gone, a moment before the
    // postmaster itself is.
    for (let i = 0; pid && isRunning(pid) && i < 100; i++) await new Promise((r) => setTimeout(r, 20))
    running = false
  }

  const startServerOnly = async () => {
    if (running) return
    const err = await pgCtlStart()
    if (err) throw err
    running = true
  }

  return {
    host: HOST,
    get port() {
      return port
    },
    user: USER,
    password,
    database: DATABASE,
    get url() {
      return `postgres://${USER}:${encodeURIComponent(password)}@${HOST}:${port}/${DATABASE}`
    },
    dataDir,
    certs,
    async psql(sql, { env = {}, database = DATABASE } = {}) {
      const args = ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-h', HOST, '-p', String(port), '-U', USER, '-d', database, '-c', sql]
      const { stdout } = await execFileP(psqlBin(), args, {
        env: cleanEnv({ PGPASSWORD: password, PGCONNECT_TIMEOUT: '10', ...(certs ? { PGSSLROOTCERT: certs.ca } : {}), ...env }),
      })
      return stdout.replace(/\n$/, '')
    },
    stopServerOnly,
    startServerOnly,
    async restart() {
      await stopServerOnly()
      await startServerOnly()
    },
    async stop() {
      await stopServerOnly()
      fs.rmSync(dir, { recursive: true, force: true })
      live.delete(paths)
      watchdog.kill('SIGKILL')
    },
  }
}

// Watchdog mode: wait for the parent's end (our stdin closes), then clean up.
if (require.main === module && process.argv[2] === '--watchdog') {
  const paths = JSON.parse(process.argv[3])
  process.stdin.on('data', () => {})
  process.stdin.on('close', () => {
    stopAndRemoveSync(paths)
    process.exit(0)
  })
}

module.exports = { startPostgres, binDir }
