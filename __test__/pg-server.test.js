'use strict'
// The throw-away PostgreSQL server of the PostgreSQL suites
// (__test__/support/pg-server.js): it starts, takes password logins over TCP,
// speaks TLS with a certificate its CA vouches for, refuses plain TCP when TLS
// is required, survives an outage, and leaves neither process nor folder.
const fs = require('node:fs')
const path = require('node:path')
const { Client } = require('pg')

const { startPostgres } = require('./support/pg-server.js')
const { LINUX, DARWIN, POSIX, psTable } = require('./support/platform.js')

// Off Linux (no /proc): macOS asks `ps`; Windows has neither, so there only
// the postmaster itself is watched (by signal 0) and no command line is read.

// The postmaster (from postmaster.pid) and its children, by /proc.
function serverPids(dataDir) {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const pids = [postmaster]
  if (!LINUX) return pids.concat(DARWIN ? psTable().filter((p) => p.ppid === postmaster).map((p) => p.pid) : [])
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // the ppid is the 2nd field after the parenthesised command name
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1])
      if (ppid === postmaster) pids.push(Number(entry))
    } catch {} // gone meanwhile
  }
  return pids
}

// Running, that is: a zombie does not count (pg_ctl leaves the postmaster to
// PID 1, which in a container may never reap it).
function alive(pid) {
  if (!LINUX) {
    try {
      process.kill(Number(pid), 0)
    } catch {
      return false
    }
    return !DARWIN || psTable().some((p) => p.pid === Number(pid) && p.state !== 'Z')
  }
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z'
  } catch {
    return false
  }
}

// Any running process whose command line names the data directory.
function processesNaming(dataDir) {
  if (DARWIN) return psTable().filter((p) => p.state !== 'Z' && p.command.includes(dataDir)).map((p) => String(p.pid))
  if (!LINUX) return null // (Windows: no command lines to read)
  return fs.readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry) || !alive(entry)) return false
    try {
      return fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(dataDir)
    } catch {
      return false
    }
  })
}

async function expectStoppedAndGone(pg) {
  const pids = serverPids(pg.dataDir)
  expect(alive(pids[0])).toBe(true) // the postmaster (a backend may be ending meanwhile)
  if (processesNaming(pg.dataDir) !== null) expect(processesNaming(pg.dataDir).length).toBeGreaterThan(0)
  await pg.stop()
  expect(pids.filter(alive)).toEqual([])
  if (processesNaming(pg.dataDir) !== null) expect(processesNaming(pg.dataDir)).toEqual([])
  expect(fs.existsSync(path.dirname(pg.dataDir))).toBe(false)
}

async function query(config, sql) {
  const client = new Client(config)
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

test('plain: select 1, scram password logins on 127.0.0.1, fsync on; stop leaves no process and no folder', async () => {
  const pg = await startPostgres()
  try {
    expect(pg.host).toBe('127.0.0.1')
    expect(pg.url).toBe(`postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/baileys_test`)
    expect(pg.certs).toBeUndefined()
    expect(await pg.psql('select 1')).toBe('1')
    expect(await pg.psql('show fsync')).toBe('on')
    expect(await pg.psql('show listen_addresses')).toBe('127.0.0.1')
    expect(await pg.psql('select current_database(), rolsuper from pg_roles where rolname = current_user')).toBe('baileys_test|t')
    expect(await pg.psql('select left(rolpassword, 13) from pg_authid where rolname = current_user')).toBe('SCRAM-SHA-256')

    expect(await query({ connectionString: pg.url }, 'select current_user as u')).toEqual([{ u: pg.user }])
    await expect(query({ connectionString: pg.url.replace(pg.password, 'wrong') }, 'select 1')).rejects.toThrow(
      /password authentication failed/,
    )
  } catch (e) {
    await pg.stop()
    throw e
  }
  await expectStoppedAndGone(pg)
})

test('ssl: true: TLS that verifies against the CA (for 127.0.0.1 and localhost), plain TCP still accepted', async () => {
  const pg = await startPostgres({ ssl: true })
  try {
    expect(fs.readFileSync(pg.certs.ca, 'utf8')).toBe(pg.certs.caPem)
    expect(pg.certs.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/)
    if (POSIX) expect(fs.statSync(path.join(path.dirname(pg.dataDir), 'server.key')).mode & 0o777).toBe(0o600) // (no modes on Windows)

    const sslInUse = 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'
    expect(await pg.psql(sslInUse, { env: { PGSSLMODE: 'require' } })).toBe('t')
    expect(await pg.psql(sslInUse, { env: { PGSSLMODE: 'verify-full', PGSSLROOTCERT: pg.certs.ca } })).toBe('t')
    expect(await pg.psql(sslInUse, { env: { PGSSLMODE: 'disable' } })).toBe('f')

    // Node's TLS checks the name too: the IP SAN, then the DNS one.
    const base = { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database }
    expect(await query({ ...base, ssl: { ca: pg.certs.caPem } }, sslInUse)).toEqual([{ ssl: true }])
    expect(await query({ ...base, ssl: { ca: pg.certs.caPem, servername: 'localhost' } }, sslInUse)).toEqual([{ ssl: true }])
    // ...and a certificate from some other CA is refused.
    await expect(query({ ...base, ssl: { rejectUnauthorized: true } }, sslInUse)).rejects.toThrow(/certificate/)
  } catch (e) {
    await pg.stop()
    throw e
  }
  await expectStoppedAndGone(pg)
})

test("ssl: 'required': plain TCP is refused, sslmode=require is accepted", async () => {
  const pg = await startPostgres({ ssl: 'required' })
  try {
    await expect(pg.psql('select 1', { env: { PGSSLMODE: 'disable' } })).rejects.toThrow(/no pg_hba.conf entry.*no encryption/)
    await expect(query({ connectionString: pg.url }, 'select 1')).rejects.toThrow(/no pg_hba.conf entry/)
    expect(await pg.psql('select ssl from pg_stat_ssl where pid = pg_backend_pid()', { env: { PGSSLMODE: 'require' } })).toBe('t')
  } catch (e) {
    await pg.stop()
    throw e
  }
  await expectStoppedAndGone(pg)
})

test('servers in parallel get ports and folders of their own; an outage and a restart keep the data and the port', async () => {
  const [a, b] = await Promise.all([startPostgres(), startPostgres()])
  try {
    expect(a.port).not.toBe(b.port)
    expect(a.dataDir).not.toBe(b.dataDir)
    await a.psql('create table t (v int); insert into t values (42)')
    await expect(b.psql('select v from t')).rejects.toThrow(/relation "t" does not exist/)

    const port = a.port
    await a.stopServerOnly()
    await expect(a.psql('select 1')).rejects.toThrow(/Connection refused|could not connect/)
    await a.startServerOnly()
    expect(a.port).toBe(port)
    expect(await a.psql('select v from t')).toBe('42')

    await a.restart()
    expect(a.port).toBe(port)
    expect(await a.psql('select v from t')).toBe('42')
  } catch (e) {
    await Promise.all([a.stop(), b.stop()])
    throw e
  }
  await Promise.all([expectStoppedAndGone(a), expectStoppedAndGone(b)])
})
