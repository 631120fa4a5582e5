'use strict'
// Our PostgreSQL backend as the parity cases (support/sqlite-parity-cases.js)
// see a store of rows in the contract's format: a place is an account in the
// shared tables of the suite's server (support/pg-tools.js), read and written
// directly through node-postgres. The values are the same bytes as a folder's
// files and an SQLite row's; what differs is PostgreSQL's text, which cannot
// hold U+0000 (`holdsNul: false`).

const path = require('node:path')

const P = require('./pg-tools.js')

/** `ctx`: a `pgContext()` whose server `pgSuite({ ctx })` starts. */
function pgStore(ctx, { prefix = P.DEFAULT_PREFIX } = {}) {
  const R = P.rowsOf(ctx, { prefix })
  const options = (o) => (prefix === P.DEFAULT_PREFIX ? o : { ...o, tablePrefix: prefix })
  let tables = null
  /** The tables exist once any account was opened: open one when none was yet. */
  const ensureTables = (lib) => (tables ||= lib.usePostgresAuthState(ctx.url, '__tables__', options()).then((s) => s.close()))
  let lib0 = null
  return {
    label: 'PostgreSQL backend',
    tag: 'pg',
    // the account: named after the test's temporary root (unique) and the store's name
    place: (root, name) => `${path.basename(root)}/${name}`,
    open: (lib, account, o) => {
      lib0 ||= lib
      return lib.usePostgresAuthState(ctx.url, account, options(o))
    },
    openWithConfig: (lib, account, o) => {
      lib0 ||= lib
      return lib.usePostgresAuthState(ctx.url, account, options(o))
    },
    keyRows: (account) => R.keyRows(account),
    credsBytes: (account) => R.credsBytes(account),
    row: (account, type, id) => R.row(account, type, id),
    quarantineRows: (account) => R.quarantineRows(account),
    async writeRows(account, { rows = [], creds } = {}) {
      await ensureTables(lib0 || require('../../index.js'))
      await R.writeRows(account, { rows: rows.map(([type, id, text]) => [type, id, Buffer.from(text, 'utf8')]), creds: creds === undefined ? undefined : Buffer.from(creds, 'utf8') })
    },
    async check(account) {
      // the account is closed: its lease released, nothing left in its name but rows
      const lease = await R.lease(account)
      if (lease) expect(lease.expires_text).toBe('-infinity')
    },
    holdsNul: false,
  }
}

/**
 * The test that every stored row is `encodeAuthValue(value)`, byte for byte,
 * and Baileys' own `JSON.stringify(value, BufferJSON.replacer)`, for every
 * key type of `line` (its key data forms: `keyData`).
 */
function defineStoredBytesTest({ ctx, line, baileys, ours, keyData }) {
  test(`the stored bytes are encodeAuthValue(value), for every key type (flavor ${line})`, async () => {
    const { makeParityFixtures } = require('./parity-cases.js')
    const data = makeParityFixtures({ baileys, keyData }).makeKeyData()
    const account = P.accountName('encode')
    const s = await ours.usePostgresAuthState(ctx.url, account, { flavor: line })
    await s.state.keys.set(data)
    await s.close()
    const rows = await P.rowsOf(ctx).keyRows(account)
    expect(rows).toHaveLength(Object.values(data).reduce((n, o) => n + Object.keys(o).length, 0))
    const text = (b) => Buffer.from(b).toString('latin1')
    for (const { type, id, value } of rows) {
      expect({ type, id, value: text(value) }).toEqual({ type, id, value: text(ours.encodeAuthValue(data[type][id])) })
      expect({ type, id, value: text(value) }).toEqual({ type, id, value: text(JSON.stringify(data[type][id], baileys.BufferJSON.replacer)) })
    }
  })
}

module.exports = { pgStore, defineStoredBytesTest }
