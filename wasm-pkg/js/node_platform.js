// Node's crypto for wxpay-sign/v3 (embedded in the v3 CommonJS entry by scripts/build.mjs):
// RSA signing with the merchant key (OpenSSL: constant time; no private key enters the
// wasm) and the RSA verification the core hands out (OpenSSL is ~40x faster than
// RustCrypto's bigints in wasm). Parsed keys are kept, as a server keeps its keys.
const nodeCrypto = require('node:crypto');

function keyCache(make) {
  const cache = new Map();
  return (id, material) => {
    let key = cache.get(id);
    if (key === undefined) {
      key = make(material);
      if (cache.size >= 16) cache.delete(cache.keys().next().value);
      cache.set(id, key);
    }
    return key;
  };
}

const privateKeys = keyCache((pem) => nodeCrypto.createPrivateKey(pem));
const publicKeys = keyCache((der) => nodeCrypto.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }));

const nodePlatform = {
  signSha256Rsa(message, privateKeyPem) {
    const key = privateKeys(privateKeyPem, privateKeyPem);
    return nodeCrypto.sign('sha256', Buffer.from(message, 'utf8'), key).toString('base64');
  },
  verifyPkcs1Sha256(pkcs1, message, signature) {
    const key = publicKeys(Buffer.from(pkcs1).toString('base64'), pkcs1);
    return nodeCrypto.verify('sha256', message, key, signature);
  },
};
