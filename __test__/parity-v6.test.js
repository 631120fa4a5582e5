const b6 = require('@whiskeysockets/baileys')
const ours = require('..')
test('smoke', async () => {
  const c = ours.initAuthCreds()
  console.log(Buffer.isBuffer(c.noiseKey.public), c instanceof Object, typeof b6.useMultiFileAuthState, Buffer === require('buffer').Buffer)
})
