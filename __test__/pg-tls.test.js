'use strict'
// TLS to the PostgreSQL server (rustls), against the throw-away server's own
// CA: sslmode=require encrypts, verify-full checks the chain and the name
// (127.0.0.1 and localhost are both in the certificate), node-postgres'
// object form with `ssl.ca` verifies too; a certificate from another CA, the
// system roots, or a name the certificate does not hold are refused clearly
// (EBAILEYSTLS or a message about the certificate) and the process goes on;
// a server that requires TLS refuses a plain connection with a clear error.
//
// Whether a connection of ours is encrypted is read from pg_stat_ssl joined
// with pg_stat_activity: the backends that appeared for our open, by
// application_name (ours is 'baileys-auth-native' unless the connection
// string names another).
//
// Two servers: the file's ssl: true server, and an ssl: 'required' one for
// the last block only (pg_hba.conf with hostssl lines alone is a server of
// its own).

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { startPostgres } = require('./support/pg-server.js')
const h = require('./support/pg-harness.js')

const pkg = require(h.PKG_PATH)
const { writeData } = h.model

const DEFAULT_APP = 'baileys-auth-native'
let pg
let tmp
let otherCa // path of a CA that did not sign the server's certificate
let otherCaPem
const measured = {}

beforeAll(async () => {
  pg = await startPostgres({ ssl: true })
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-pg-tls-'))
  otherCa = path.join(tmp, 'other-ca.pem')
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(tmp, 'other-ca.key'), '-out', otherCa, '-days', '2',
      '-subj', '/CN=some other test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { stdio: 'ignore' },
  )
  otherCaPem = fs.readFileSync(otherCa, 'utf8')
}, 120000)

afterAll(async () => {
  await pg?.stop()
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  h.record('tls', measured)
})

const url = (server, host = '127.0.0.1') => `postgres://${server.user}:${encodeURIComponent(server.password)}@${host}:${server.port}/${server.database}`
const fields = (server, extra) => ({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database, ...extra })

/** The client backends of `appName`: Map pid -> ssl (true/false). */
async function backends(server, appName) {
  const rows = await h.query(
    server,
    "select a.pid, s.ssl, s.version from pg_stat_activity a join pg_stat_ssl s using (pid) where a.backend_type = 'client backend' and a.application_name = $1",
    [appName],
  )
  return new Map(rows.map((r) => [r.pid, { ssl: r.ssl, version: r.version }]))
}

/**
 * Opens `account` over `connection`, writes and reads back, closes, and
 * returns the TLS state of the backends that appeared for it.
 */
async function openAndUse(server, connection, account, appName) {
  const before = await backends(server, appName)
  const t0 = Date.now()
  const auth = await pkg.usePostgresAuthState(connection, account, { timeoutMs: 5000 })
  const openMs = Date.now() - t0
  await auth.state.keys.set(writeData('T', 1))
  const got = await auth.state.keys.get('session', [h.model.keyId('T', 1, 0)])
  expect(got[h.model.keyId('T', 1, 0)]).toMatchObject({ tag: 'T', seq: 1 })
  const after = await backends(server, appName)
  await auth.close()
  const fresh = [...after].filter(([pid]) => !before.has(pid)).map(([, v]) => v)
  return { openMs, fresh }
}

async function rejection(connection, account) {
  const t0 = Date.now()
  const err = await pkg.usePostgresAuthState(connection, account, { timeoutMs: 5000 }).then(
    async (auth) => {
      await auth.close()
      return null
    },
    (e) => e,
  )
  return { err, ms: Date.now() - t0 }
}

function expectCertificateRejection({ err, ms }, what) {
  expect({ what, rejected: err !== null }).toEqual({ what, rejected: true })
  const clear = err.code === 'EBAILEYSTLS' || /certificate/i.test(err.message)
  expect({ what, code: err.code, message: err.message, clear }).toEqual({ what, code: err.code, message: err.message, clear: true })
  expect(ms).toBeLessThan(10000)
  measured[what] = { ms, code: err.code, message: err.message }
}

describe('TLS to a server that offers it (ssl: true)', () => {
  test('sslmode=require: the connections of our open are encrypted (pg_stat_ssl), and sslmode=disable ones are not', async () => {
    const enc = await openAndUse(pg, `${url(pg)}?sslmode=require`, 'tls-require', DEFAULT_APP)
    expect(enc.fresh.length).toBeGreaterThan(0)
    expect(enc.fresh.map((b) => b.ssl)).toEqual(enc.fresh.map(() => true))
    // The contrast: the same check sees a plain connection.
    const plain = await openAndUse(pg, `${url(pg)}?sslmode=disable&application_name=ban-tls-plain`, 'tls-plain', 'ban-tls-plain')
    expect(plain.fresh.length).toBeGreaterThan(0)
    expect(plain.fresh.map((b) => b.ssl)).toEqual(plain.fresh.map(() => false))
    measured.require = { openMs: enc.openMs, versions: [...new Set(enc.fresh.map((b) => b.version))] }
  })

  test('sslmode=verify-full with sslrootcert=<the CA>: works for host 127.0.0.1 and for localhost (URL and key=value forms)', async () => {
    for (const [host, app] of [
      ['127.0.0.1', 'ban-tls-vf-ip'],
      ['localhost', 'ban-tls-vf-dns'],
    ]) {
      const r = await openAndUse(pg, `${url(pg, host)}?sslmode=verify-full&sslrootcert=${encodeURIComponent(pg.certs.ca)}&application_name=${app}`, `tls-vf-${host}`, app)
      expect(r.fresh.length).toBeGreaterThan(0)
      expect(r.fresh.every((b) => b.ssl)).toBe(true)
      measured[`verify-full ${host}`] = { openMs: r.openMs }
    }
    const kv = `host=localhost port=${pg.port} user=${pg.user} password='${pg.password}' dbname=${pg.database} sslmode=verify-full sslrootcert='${pg.certs.ca}' application_name=ban-tls-kv`
    const r = await openAndUse(pg, kv, 'tls-vf-kv', 'ban-tls-kv')
    expect(r.fresh.length).toBeGreaterThan(0)
    expect(r.fresh.every((b) => b.ssl)).toBe(true)
  })

  test("the object form { ssl: { ca } } verifies against that CA (a string or a Buffer, 127.0.0.1 or localhost)", async () => {
    for (const [i, conn] of [
      fields(pg, { ssl: { ca: pg.certs.caPem } }),
      fields(pg, { host: 'localhost', ssl: { ca: Buffer.from(pg.certs.caPem) } }),
    ].entries()) {
      const r = await openAndUse(pg, conn, `tls-object-${i}`, DEFAULT_APP)
      expect(r.fresh.length).toBeGreaterThan(0)
      expect(r.fresh.every((b) => b.ssl)).toBe(true)
    }
    // rejectUnauthorized: false: encrypted, not verified (even with no CA at all).
    const loose = await openAndUse(pg, fields(pg, { ssl: { rejectUnauthorized: false } }), 'tls-object-loose', DEFAULT_APP)
    expect(loose.fresh.every((b) => b.ssl)).toBe(true)
  })

  test('a certificate the roots do not vouch for, or not for that name, is refused clearly; the process goes on and connects right after', async () => {
    expectCertificateRejection(await rejection(`${url(pg)}?sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa)}`, 'tls-wrong-1'), 'verify-full, another CA')
    expectCertificateRejection(await rejection(`${url(pg)}?sslmode=verify-ca&sslrootcert=${encodeURIComponent(otherCa)}`, 'tls-wrong-2'), 'verify-ca, another CA')
    expectCertificateRejection(await rejection(fields(pg, { ssl: { ca: otherCaPem } }), 'tls-wrong-3'), 'object form, another CA')
    expectCertificateRejection(await rejection(fields(pg, { ssl: true }), 'tls-wrong-4'), 'object form ssl: true, system roots')
    // The name: hostaddr connects to 127.0.0.1 while the name checked is another.
    const misnamed = (mode) =>
      `host=db.invalid hostaddr=127.0.0.1 port=${pg.port} user=${pg.user} password='${pg.password}' dbname=${pg.database} sslmode=${mode} sslrootcert='${pg.certs.ca}' application_name=ban-tls-name`
    const wrongName = await rejection(misnamed('verify-full'), 'tls-wrong-name')
    expectCertificateRejection(wrongName, 'verify-full, a name not in the certificate')
    expect(wrongName.err.message).toMatch(/db\.invalid/)
    // verify-ca checks the chain only: the same connection is accepted.
    const r = await openAndUse(pg, misnamed('verify-ca'), 'tls-name-ca', 'ban-tls-name')
    expect(r.fresh.every((b) => b.ssl)).toBe(true)
    // ...and the right CA right after the refusals.
    const ok = await openAndUse(pg, `${url(pg)}?sslmode=verify-full&sslrootcert=${encodeURIComponent(pg.certs.ca)}&application_name=ban-tls-after`, 'tls-after', 'ban-tls-after')
    expect(ok.fresh.every((b) => b.ssl)).toBe(true)
    // Nothing of the refused accounts reached the tables.
    const leases = await h.query(pg, "select account from baileys_leases where account like 'tls-wrong-%'")
    expect(leases).toEqual([])
  })
})

describe("a server that requires TLS (ssl: 'required')", () => {
  let req
  beforeAll(async () => {
    req = await startPostgres({ ssl: 'required' })
  }, 120000)
  afterAll(async () => {
    await req?.stop()
  })

  test('a plain connection (sslmode=disable, or the object form without ssl) is refused with a clear error; sslmode=require and verify-full work', async () => {
    for (const [what, conn] of [
      ['sslmode=disable', `${url(req)}?sslmode=disable`],
      ['object form without ssl', fields(req)],
    ]) {
      const { err, ms } = await rejection(conn, 'tls-plain-refused')
      expect({ what, rejected: err !== null }).toEqual({ what, rejected: true })
      expect({ what, message: err.message }).toEqual({ what, message: expect.stringMatching(/pg_hba\.conf.*no encryption/) })
      expect(typeof err.code).toBe('string')
      expect(['EBAILEYSINTERNAL', 'UNKNOWN']).not.toContain(err.code)
      expect(ms).toBeLessThan(10000)
      measured[`required server, ${what}`] = { ms, name: err.name, code: err.code, message: err.message }
    }
    const r = await openAndUse(req, `${url(req)}?sslmode=require&application_name=ban-tls-req`, 'tls-required-ok', 'ban-tls-req')
    expect(r.fresh.length).toBeGreaterThan(0)
    expect(r.fresh.every((b) => b.ssl)).toBe(true)
    const vf = await openAndUse(req, fields(req, { host: 'localhost', ssl: { ca: req.certs.caPem } }), 'tls-required-vf', DEFAULT_APP)
    expect(vf.fresh.every((b) => b.ssl)).toBe(true)
    // The other server's CA does not vouch for this one.
    expectCertificateRejection(await rejection(fields(req, { ssl: { ca: pg.certs.caPem } }), 'tls-required-wrong'), "required server, the other server's CA")
  })
})
