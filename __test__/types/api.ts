// This package alone (no Baileys), compiled with every declaration file
// checked (tsconfig.api.json), index.d.ts included. Never run.
import * as pkg from 'baileys-auth-native'
import {
  useMultiFileAuthState,
  type AuthenticationCreds,
  type AuthenticationState,
  type KeyPair,
  type MultiFileAuthState,
  type SignalDataSet,
  type SignalKeyStore,
} from 'baileys-auth-native'

export async function roundTrip(folder: string): Promise<KeyPair | null> {
  const opened: MultiFileAuthState = await useMultiFileAuthState(folder, { flavor: 'any', lock: false })
  const state: AuthenticationState = opened.state
  const keys: SignalKeyStore = state.keys
  const creds: AuthenticationCreds = state.creds
  creds.registered = true
  creds.me = { id: '1234567890:3@s.whatsapp.net', name: 'A' }
  await opened.saveCreds()
  const data: SignalDataSet = { 'pre-key': { '7': pkg.initAuthCreds().signedIdentityKey } }
  await keys.set(data)
  const got = await keys.get('pre-key', ['7'])
  const loose = await keys.get('some-type', [7])
  void loose
  return got['7']
}

export const errors: Array<new (message?: string) => Error> = [pkg.AuthFileCorruptError, pkg.AuthFolderLockedError]

// The folder tools.
export async function tools(folder: string): Promise<number> {
  const creds: AuthenticationCreds = await pkg.loadCredentials(folder)
  await pkg.saveCredentials(folder, creds)
  const preKey: KeyPair | null = await pkg.loadKeys(folder, 'pre-key', '1')
  const fromDefault: KeyPair | null = await pkg.loadKeys('pre-key', '1')
  await pkg.saveKeys(folder, 'pre-key', '2', preKey, { fsync: true })
  await pkg.deleteKeys(folder, 'pre-key', '2')
  const report = await pkg.inspectFolder(folder, { verify: true })
  const corrupt = report.findings.filter((f) => f.problem === 'corrupt').length
  const summary = await pkg.migrateAuthFolders(folder, `${folder}-copy`, { onProgress: (p) => void p.phase })
  const opened = await useMultiFileAuthState(folder)
  const again = await pkg.migrateAuthState({ from: opened, to: pkg.withListing(`${folder}-copy`, opened), verify: true })
  const types: readonly string[] = pkg.KEY_TYPES
  void fromDefault, types, pkg.defaultAuthFolder()
  return corrupt + summary.differenceCount + again.total
}
