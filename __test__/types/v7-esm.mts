// Baileys v7 from an ES module (`.mts`), as most v7 users write it: named and
// default imports of this package. Compiled by __test__/types.test.js; never run.
import makeWASocket, { type AuthenticationState } from 'baileys'
import nativeAuth, { useMultiFileAuthState, type MultiFileAuthState } from 'baileys-auth-native'

const opened: MultiFileAuthState = await useMultiFileAuthState('auth_info_baileys', { flavor: 'v7' })
const auth: AuthenticationState = opened.state
const sock = makeWASocket({ auth: opened.state })
sock.ev.on('creds.update', opened.saveCreds)
const viaDefault: MultiFileAuthState = await nativeAuth.useMultiFileAuthState('auth_info_baileys')
export { auth, viaDefault }
