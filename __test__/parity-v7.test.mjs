import { useMultiFileAuthState, proto, initAuthCreds } from 'baileys'
import ours from '../index.mjs'
test('smoke', async () => {
  const c = ours.initAuthCreds()
  console.log(Buffer.isBuffer(c.noiseKey.public), c instanceof Object, typeof useMultiFileAuthState, typeof proto.Message.AppStateSyncKeyData)
})
