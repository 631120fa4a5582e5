// Baileys v7 (`baileys`, ESM only) with this package, as a
// user writes it. Compiled by __test__/types.test.js with `tsc --noEmit
// --strict`; never run. Every line here must type-check.
import makeWASocket, {
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalKeyStore,
  DEFAULT_CONNECTION_CONFIG,
  makeCacheableSignalKeyStore,
  proto,
  useMultiFileAuthState as baileysUseMultiFileAuthState,
} from 'baileys'
import {
  AuthFileCorruptError,
  AuthFolderLockedError,
  decodeAuthValue,
  encodeAuthValue,
  initAuthCreds,
  useMultiFileAuthState,
  type AuthStateOptions,
} from 'baileys-auth-native'

export async function connect(folder: string): Promise<void> {
  const { state, saveCreds } = await useMultiFileAuthState(folder)

  // The one-line migration: the socket takes our state, saveCreds listens.
  const sock = makeWASocket({ auth: state })
  sock.ev.on('creds.update', saveCreds)

  // The state is Baileys' AuthenticationState, its parts Baileys' types.
  const auth: AuthenticationState = state
  const keys: SignalKeyStore = state.keys
  const creds: AuthenticationCreds = state.creds
  const fresh: AuthenticationCreds = initAuthCreds('v7')

  // Baileys' README wiring: a cacheable store around ours.
  const logger = DEFAULT_CONNECTION_CONFIG.logger
  makeWASocket({ auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) }, logger })

  // Drop-in: ours and Baileys' helper are interchangeable at the type level.
  let either = await baileysUseMultiFileAuthState(folder)
  either = await useMultiFileAuthState(folder)

  // Typed reads: missing ids are null.
  const preKeys = await state.keys.get('pre-key', ['1'])
  const preKey = preKeys['1']
  if (preKey) {
    const pub: Uint8Array = preKey.public
    void pub
  }
  const appKeys = await state.keys.get('app-state-sync-key', ['AAAA'])
  const keyData: Uint8Array | null | undefined = appKeys['AAAA']?.keyData
  await state.keys.set({ 'pre-key': { '1': null, '2': { public: Buffer.alloc(32), private: Buffer.alloc(32) } } })
  await state.keys.set({ session: { '1234567890.3': null }, 'my-own-type': { x: { anything: true } } })

  // The extras: clear, listIds, list.
  for await (const id of state.keys.listIds('session')) {
    const s: string = id
    void s
  }
  for await (const [id, pair] of state.keys.list('pre-key')) {
    const bytes: Uint8Array = pair.private
    void id, bytes
  }
  await state.keys.clear()

  // Options, codec and errors.
  const options: AuthStateOptions = { flavor: 'v7', proto, fsync: true, lock: true, logger }
  await useMultiFileAuthState(folder, options)
  const encoded = encodeAuthValue({ key: Buffer.alloc(1) })
  if (encoded) decodeAuthValue(encoded, 'v7')
  decodeAuthValue('{"a":1}')
  try {
    await useMultiFileAuthState(folder)
  } catch (e) {
    if (e instanceof AuthFolderLockedError) {
      const pid: number | null = e.pid
      const where: string = e.folder
      void pid, where
    } else if (e instanceof AuthFileCorruptError) {
      const file: string = e.path
      const why: Error = e.cause
      void file, why
    }
  }
  void auth, keys, creds, fresh, either, keyData
}

// v7's key types (LID mapping, identity keys, device lists).
export async function v7Keys(folder: string): Promise<void> {
  const { state } = await useMultiFileAuthState(folder, { flavor: 'v7' })
  const lids = await state.keys.get('lid-mapping', ['1234567890'])
  const lid: string | null = lids['1234567890']
  const identities = await state.keys.get('identity-key', ['111122223333444_1.3'])
  const identity: Uint8Array | null = identities['111122223333444_1.3']
  await state.keys.set({ 'device-list': { '1234567890': ['0', '3'] } })
  void lid, identity
}
