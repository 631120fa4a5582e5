'use strict'
// The SQLite backend as the Signal end-to-end cases (support/signal-cases.js)
// see it: each device keeps its auth state in one database file, opened by
// our `useSqliteAuthState` (`ours`) or by the contract's JS reference store
// (bench/sqlite-reference.mjs, `theirs`, the store a user of Baileys' next
// line runs). A restart is a real one: the device's store is closed (our
// `close()` waits for its pending writes) before the file is opened again.

const path = require('node:path')

const T = require('./sqlite-tools.js')

/**
 * - `useSqliteAuthState`: ours.
 * - `baileys`: the line in use (the reference store revives with it).
 * - `loadReference()`: resolves to bench/sqlite-reference.mjs's exports.
 */
function sqliteBackend({ useSqliteAuthState, baileys, loadReference }) {
  /** place → the store that has it open now */
  const current = new Map()
  async function reopen(place, openFn) {
    const previous = current.get(place)
    if (previous) {
      current.delete(place)
      await previous.close()
    }
    const s = await openFn(place)
    current.set(place, s)
    return s
  }
  const theirs = {
    openName: 'the reference SQLite store',
    open: (place) =>
      reopen(place, async (dbPath) => {
        const { useReferenceSqliteAuthState } = await loadReference()
        return useReferenceSqliteAuthState({ dbPath, baileys, Driver: T.betterSqlite() })
      }),
  }
  const row = (d, type, id) => T.query(d.folder, 'SELECT id FROM signal_keys WHERE type = ? AND id = ?', type, String(id))
  return {
    where: 'database file',
    ours: { openName: 'ours', open: (place) => reopen(place, (dbPath) => useSqliteAuthState({ dbPath })) },
    theirs,
    place: (root, who) => path.join(root, `${who}.db`),
    lockFile: (dbPath) => `${dbPath}.lock`,
    keyStored: async (d, type, id) => row(d, type, id).length === 1,
    removeKey: async (d, type, id) => {
      const { changes } = T.withDb(d.folder, (db) => db.prepare('DELETE FROM signal_keys WHERE type = ? AND id = ?').run(type, String(id)), {
        readonly: false,
      })
      expect(changes).toBe(1)
    },
    omitsMissing: (d) => d.openName === theirs.openName,
    async closeAll() {
      const all = [...current.values()]
      current.clear()
      await Promise.allSettled(all.map((s) => s.close()))
    },
  }
}

module.exports = { sqliteBackend }
