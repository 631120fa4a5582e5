// Deliberate mistakes against Baileys v7's types: each line with the cross marker
// must be reported by tsc, and nothing else (__test__/types.test.js checks
// both). Proves the type test can fail.
import makeWASocket, { type AuthenticationState } from 'baileys'
import { initAuthCreds, useMultiFileAuthState } from 'baileys-auth-native'

export async function misuse(folder: string): Promise<void> {
  const { state, saveCreds } = await useMultiFileAuthState(folder)
  makeWASocket({ auth: { creds: state.creds } }) // ✗ no keys
  const sock = makeWASocket({ auth: state })
  sock.ev.on('creds.update', (update: number) => void update) // ✗ not a creds listener
  const preKey: string | null = (await state.keys.get('pre-key', ['1']))['1'] // ✗ a pre-key is a KeyPair
  await state.keys.set({ 'pre-key': { '1': 'not a key pair' } }) // ✗
  await useMultiFileAuthState(folder, { flavor: 'v8' }) // ✗ no such flavor
  const wrong: AuthenticationState = { creds: initAuthCreds(), keys: { get: async () => ({}), set: async (n: number) => void n } } // ✗
  const id: number = state.creds.advSecretKey // ✗ a string
  await saveCreds()
  void preKey, wrong, id
}
