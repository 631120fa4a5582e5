'use strict'
// The PostgreSQL backend as the Signal end-to-end cases (support/signal-cases.js)
// see it: each device keeps its auth state in an account of the suite's
// throw-away server, opened by our `usePostgresAuthState`. A restart is a real
// one: the store is closed (its writes finished, its lease released) before
// the account is opened again. There is no other implementation of these
// tables to mix with, so the mixed and switching cases are left out; in their
// place, `takeoverCases` moves a device's account to another process
// mid-conversation (support/pg-child.mjs runs Baileys' own Signal stack
// there) and back.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const P = require('./pg-tools.js')
const { spawnOwner } = require('./pg-child-driver.js')

/**
 * - `usePostgresAuthState`: ours.
 * - `ctx`: the suite's `pgContext()` (its server started by `pgSuite({ ctx })`).
 */
function pgSignalBackend({ usePostgresAuthState, ctx }) {
  const R = P.rowsOf(ctx)
  /** account → the store that has it open now */
  const current = new Map()
  /** account → the options its next open takes (none: the defaults) */
  const optionsOf = new Map()
  async function release(place) {
    const previous = current.get(place)
    if (previous) {
      current.delete(place)
      await previous.close()
    }
  }
  return {
    where: 'account',
    ours: {
      openName: 'ours',
      open: async (account) => {
        await release(account)
        const s = await usePostgresAuthState(ctx.url, account, optionsOf.get(account))
        current.set(account, s)
        return s
      },
    },
    // an account: named after the test's temporary root (unique) and the device
    place: (root, who) => `${path.basename(root)}/${who}`,
    isOwned: async (account) => {
      const lease = await R.lease(account)
      return Boolean(lease && lease.live && lease.owner_pid === process.pid && current.has(account))
    },
    keyStored: async (d, type, id) => (await R.row(d.folder, type, String(id))) !== undefined,
    removeKey: async (d, type, id) => {
      const gone = await ctx.query('DELETE FROM baileys_keys WHERE account = $1 AND type = $2 AND id = $3 RETURNING 1', [d.folder, type, String(id)])
      expect(gone).toHaveLength(1)
    },
    omitsMissing: () => false,
    /** Closes this process's store of the account (its lease released), if open. */
    release,
    /** The options of the account's next opens here. */
    setOptions: (account, options) => optionsOf.set(account, options),
    async closeAll() {
      const all = [...current.values()]
      current.clear()
      await Promise.allSettled(all.map((s) => s.close()))
    },
  }
}

/**
 * The cases where device A's account moves to another Node process
 * mid-conversation, as `extraCases` of `defineSignalTests`:
 * - `line`: 'v6' or 'v7' (the child loads the same Baileys line);
 * - `baileys`: that line (this process decodes the child's stanzas with it);
 * - `people`: as for `defineSignalTests`;
 * - `ctx`, `backend`: the suite's server and `pgSignalBackend`;
 * - `usePostgresAuthState`: ours (this process tries the account meanwhile).
 */
function takeoverCases({ line, baileys, people, ctx, backend, usePostgresAuthState }) {
  const R = P.rowsOf(ctx)
  // The child's socket config: the commit retries Baileys' defaults would
  // spread over 30 s, as a user passes them to makeWASocket.
  const transactionOpts = { maxCommitRetries: 2, delayBetweenTriesMs: 20 }

  /** Another process running device A's side on A's account (`more`: waitFree, openedFile). */
  async function childDevice(A, options, more = {}) {
    const child = await spawnOwner()
    return childDeviceOn(child, A, options, child.call('device', { line, person: { ...people.A, account: A.folder }, peers: [people.B], connection: ctx.url, options, transactionOpts, ...more }))
  }

  async function childDeviceOn(child, A, options, booting) {
    const opened = await booting
    const node = async (b64) => baileys.decodeBinaryNode(Buffer.from(b64, 'base64'))
    const wire = (stanza) => Buffer.from(baileys.encodeBinaryNode(stanza)).toString('base64')
    return {
      child,
      token: opened.token,
      /** child's A → this process's B: what B decrypted */
      async sendTo(B, text) {
        const { stanza } = await child.call('send', { to: 'B', text })
        return B.receive(await node(stanza))
      },
      async sendGroupTo(B, group, text) {
        const { stanzas } = await child.call('sendGroup', { group, to: ['B'], text })
        expect(stanzas).toHaveLength(1)
        return B.receive(await node(stanzas[0]))
      },
      /** this process's B → child's A: what A decrypted there */
      async receiveFrom(B, A, text) {
        const stanza = await B.sendText(A, text)
        return child.call('receive', { stanza: wire(stanza) })
      },
    }
  }

  /** `open()` again until the lease of the stopped owner has run out (refusals meanwhile name it). */
  async function openOnceExpired(open, ownerPid) {
    const started = Date.now()
    for (;;) {
      try {
        return await open()
      } catch (e) {
        expect(e).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: ownerPid })
        if (Date.now() - started > 60000) throw new Error('the stopped owner kept its lease for a minute')
        await P.sleep(100)
      }
    }
  }

  return ({ registeredPair, expectSession, expectSameIdentity, identityOf, totals, GROUP }) => {
    test(`takeover mid-conversation: A's account opened by another process after A closed it; the conversation goes on there, then here again`, async () => {
      const { chat, A, B } = await registeredPair('takeover', backend.ours, backend.ours)
      const aIdentity = identityOf(A)
      expect(await chat.send(A, B, 'hello from this process')).toBe('pkmsg')
      expect(await chat.send(B, A, 'hi')).toBe('msg')
      expect(await chat.sendGroup(A, GROUP, [B], 'group from this process')).toEqual([['msg', 'skmsg']])
      const token = Number((await R.lease(A.folder)).token)

      // this process lets A's account go; another one takes it
      await backend.release(A.folder)
      const other = await childDevice(A)
      const seen = []
      try {
        expect(other.token).toBe(token + 1)
        await expect(usePostgresAuthState(ctx.url, A.folder)).rejects.toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: other.child.pid })
        seen.push(await other.sendTo(B, 'A, from the other process'))
        seen.push(await other.receiveFrom(B, A, 'B to the other process'))
        seen.push(await other.sendTo(B, 'A again, after the ratchet turned'))
        seen.push(await other.sendGroupTo(B, GROUP, 'group from the other process'))
        seen.push(await other.receiveFrom(B, A, 'and back'))
        await other.child.call('close')
      } finally {
        await other.child.end()
      }
      expect(seen).toEqual([
        { texts: ['A, from the other process'], types: ['msg'] },
        { texts: ['B to the other process'], types: ['msg'] },
        { texts: ['A again, after the ratchet turned'], types: ['msg'] },
        { texts: ['group from the other process'], types: ['skmsg'] }, // the sender key and its memory came from the account
        { texts: ['and back'], types: ['msg'] },
      ])

      // back here: the state the other process left is what A goes on from
      await A.restart()
      expectSameIdentity(A, aIdentity)
      await expectSession(A, B)
      expect(Number((await R.lease(A.folder)).token)).toBe(token + 2)
      expect(await chat.send(A, B, 'this process again')).toBe('msg')
      expect(await chat.send(B, A, 'welcome back')).toBe('msg')
      expect(await chat.sendGroup(A, GROUP, [B], 'group, this process again')).toEqual([['skmsg']])
      expect(await chat.send(A, B, 'and on')).toBe('msg')
      totals['A taken over by another process and back'] = { ...chat.counts, inTheOtherProcess: seen.length }
    })

    // (Windows has no SIGSTOP/SIGCONT)
    ;(process.platform === 'win32' ? test.skip : test)(`takeover after the lease ran out: the other process stops (SIGSTOP) mid-conversation, this one takes A back once the lease expired and goes on; the stopped one, resumed, lands nothing`, async () => {
      const { chat, A, B } = await registeredPair('expiry', backend.ours, backend.ours)
      expect(await chat.send(A, B, 'hello')).toBe('pkmsg')
      expect(await chat.send(B, A, 'hi')).toBe('msg')
      await backend.release(A.folder)

      const other = await childDevice(A, { leaseTtlMs: 1000 })
      let before
      try {
        expect(await other.sendTo(B, 'from the other process')).toEqual({ texts: ['from the other process'], types: ['msg'] })
        expect(await other.receiveFrom(B, A, 'to the other process')).toEqual({ texts: ['to the other process'], types: ['msg'] })
        other.child.signal('SIGSTOP')
        try {
          // refused while its lease lasts, then ours (a higher token)
          await openOnceExpired(() => A.restart(), other.child.pid)
          expect(Number((await R.lease(A.folder)).token)).toBe(other.token + 1)
          expect(await chat.send(A, B, 'this process took A back')).toBe('msg')
          expect(await chat.send(B, A, 'noted')).toBe('msg')
          expect(await chat.sendGroup(A, GROUP, [B], 'group after the takeover')).toEqual([['msg', 'skmsg']])
          before = await R.snapshot(A.folder)
        } finally {
          other.child.signal('SIGCONT')
        }
        // the resumed process tries to go on with its stale state: nothing of it lands
        const attempt = await other.child.call('send', { to: 'B', text: 'stale' }).then(
          (value) => ({ value }),
          (error) => ({ error }),
        )
        if (attempt.error) expect(attempt.error).toMatchObject({ name: 'AuthLeaseLostError', code: 'EBAILEYSFENCED' })
        // v6's transaction logs a failed commit and goes on (its ciphertext is never delivered here)
        else expect(line).toBe('v6')
        await expect(other.child.call('set', { data: JSON.stringify({ session: { x: 'stale' } }) })).rejects.toMatchObject({ name: 'AuthLeaseLostError', code: 'EBAILEYSFENCED' })
        expect(await R.snapshot(A.folder)).toEqual(before)
        const { logs } = await other.child.call('logs')
        const ours = logs.filter((l) => l.from === 'store' && l.level === 'error')
        expect(ours).toHaveLength(1) // told once
        expect(ours[0].args.join(' ')).toMatch(/EBAILEYSFENCED/)
        // where the send resolved, Baileys' transaction saw its commit refused
        if (!attempt.error) expect(logs.some((l) => l.from === 'baileys' && l.level === 'warn' && /failed to commit/.test(l.args.join(' ')))).toBe(true)
        await other.child.call('close')
      } finally {
        await other.child.end()
      }
      // its close did not end our lease; the conversation goes on here
      const lease = await R.lease(A.folder)
      expect({ pid: lease.owner_pid, live: lease.live, token: Number(lease.token) }).toEqual({ pid: process.pid, live: true, token: other.token + 1 })
      expect(await chat.send(A, B, 'still here')).toBe('msg')
      expect(await chat.send(B, A, 'good')).toBe('msg')
      expect(await chat.sendGroup(A, GROUP, [B], 'group, still here')).toEqual([['skmsg']])
      await A.restart()
      expect(await chat.send(A, B, 'after a restart too')).toBe('msg')
      totals['A taken back after the other process stopped'] = chat.counts
    })

    test(`takeover of this process's account while its event loop is frozen past the lease: the other process goes on with the conversation, this one's writes are fenced, and it takes A back once the other closes`, async () => {
      const { chat, A, B } = await registeredPair('frozen', backend.ours, backend.ours)
      backend.setOptions(A.folder, { leaseTtlMs: 1000 })
      await A.restart()
      expect(await chat.send(A, B, 'hello')).toBe('pkmsg')
      expect(await chat.send(B, A, 'hi')).toBe('msg')
      expect(await chat.sendGroup(A, GROUP, [B], 'group before the freeze')).toEqual([['msg', 'skmsg']])
      const token = Number((await R.lease(A.folder)).token)

      // the other process waits for the account (refused while this one is alive) …
      const opened = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ban-pg-frozen-')), 'opened')
      const child = await spawnOwner()
      const booting = child.call('device', { line, person: { ...people.A, account: A.folder }, peers: [people.B], connection: ctx.url, transactionOpts, waitFree: true, openedFile: opened })
      // … while this one's event loop is frozen (a busy loop, as a bot stuck in
      // one): no timer runs, so the lease is not renewed, and the other one
      // takes it (it says so in a file, read here without the event loop)
      const started = Date.now()
      while (!fs.existsSync(opened)) {
        if (Date.now() - started > 60000) break
      }
      expect(fs.existsSync(opened)).toBe(true)
      fs.rmSync(path.dirname(opened), { recursive: true, force: true })
      let other
      try {
        other = await childDeviceOn(child, A, undefined, booting)
        expect(other.token).toBe(token + 1)
        // awake again: this process's state writes nothing more
        await expect(A.state.keys.set({ 'pre-key': { 999: { stale: true } } })).rejects.toMatchObject({ name: 'AuthLeaseLostError', code: 'EBAILEYSFENCED' })
        await expect(A.saveCreds()).rejects.toMatchObject({ code: 'EBAILEYSFENCED' })
        expect(await R.row(A.folder, 'pre-key', '999')).toBeUndefined()
        // the conversation goes on in the other process
        expect(await other.sendTo(B, 'A, from the other process')).toEqual({ texts: ['A, from the other process'], types: ['msg'] })
        expect(await other.receiveFrom(B, A, 'B to the other process')).toEqual({ texts: ['B to the other process'], types: ['msg'] })
        expect(await other.sendGroupTo(B, GROUP, 'group from the other process')).toEqual({ texts: ['group from the other process'], types: ['skmsg'] })
        await other.child.call('close')
      } finally {
        await child.end()
      }
      // taken back here, from where the other one left it
      await A.restart()
      expect(Number((await R.lease(A.folder)).token)).toBe(token + 2)
      expect(await chat.send(A, B, 'back here')).toBe('msg')
      expect(await chat.send(B, A, 'welcome back')).toBe('msg')
      expect(await chat.sendGroup(A, GROUP, [B], 'group, back here')).toEqual([['skmsg']])
      totals['A taken over while this process was frozen, and back'] = chat.counts
    })
  }
}

module.exports = { pgSignalBackend, takeoverCases }
