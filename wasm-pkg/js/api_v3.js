// The wxpay-sign/v3 JavaScript API over the v3 wasm exports. Single source: scripts/build.mjs
// embeds it into the v3 CommonJS, ESM and browser entry points. `platform` is Node's
// crypto (OpenSSL) in Node: the merchant-key signer, and the RSA verification the core
// hands out (everything else of a verification stays in the core); null in browsers,
// where verification runs on the wasm's own RustCrypto and a private key has no business.

function makeV3Api(raw, platform) {
  const [call, options, nowSeconds] = [guardedCall, argsObject, unixSeconds];

  // HTTP header names are case-insensitive: look them up lower-cased. Node gives arrays
  // for repeated headers; the first value counts.
  function lowerHeaders(headers) {
    if (headers === null || typeof headers !== 'object') {
      throw fail('INVALID_ARGUMENT', 'headers must be an object of the response or notify headers');
    }
    const lower = {};
    for (const name of Object.keys(headers)) {
      let value = headers[name];
      if (Array.isArray(value)) value = value[0];
      if (value === undefined || value === null) continue;
      lower[name.toLowerCase()] = String(value);
    }
    return lower;
  }

  // The raw body exactly as received: a string, or the bytes (Buffer / Uint8Array).
  const encoder = typeof TextEncoder === 'undefined' ? null : new TextEncoder();
  function bodyBytes(body) {
    if (body instanceof Uint8Array) return body;
    if (typeof body === 'string') {
      if (encoder === null) throw fail('NOT_SUPPORTED', 'no TextEncoder here: pass the body as a Uint8Array');
      return encoder.encode(body);
    }
    if (body === undefined || body === null) return new Uint8Array(0);
    throw fail('INVALID_ARGUMENT', 'body must be the raw body text (or bytes) exactly as received, never a parsed object');
  }

  // Parsed key sets, by their packed text (parsing RSA keys costs more than a verification).
  const keyCache = new Map();
  function keySet(keys) {
    if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
      throw fail('INVALID_KEY', 'keys must be an object from serial (a platform certificate serial or PUB_KEY_ID_...) to PEM');
    }
    let packed = '';
    for (const serial of Object.keys(keys)) {
      packed += item(serial) + item(text(`keys[${JSON.stringify(serial)}]`, keys[serial]));
    }
    let set = keyCache.get(packed);
    if (set === undefined) {
      set = call(() => new raw.V3Keys(packed));
      if (keyCache.size >= 8) {
        const [oldest] = keyCache.keys();
        keyCache.get(oldest).free();
        keyCache.delete(oldest);
      }
      keyCache.set(packed, set);
    }
    return set;
  }

  // Private keys already seen to be private keys (a server signs with one key).
  const privateKinds = new Map();

  return {
    verifyV3Notify(args) {
      const { headers, body, keys, apiV3Key, now } = options(args, '{headers, body, keys, apiV3Key, now?}');
      const h = lowerHeaders(headers);
      // A plain object from the wasm (serde-wasm-bindgen); the resource as JSON text.
      const fields = call(() => raw.v3VerifyNotify(
        keySet(keys),
        h['wechatpay-timestamp'], h['wechatpay-nonce'], h['wechatpay-signature'], h['wechatpay-serial'],
        h['wechatpay-signature-type'],
        bodyBytes(body),
        text('apiV3Key', apiV3Key),
        nowSeconds(now),
        platform === null ? undefined : platform.verifyPkcs1Sha256,
      ));
      let resource;
      try {
        resource = JSON.parse(fields.plaintext);
      } catch {
        throw fail('INVALID_NOTIFY', 'the decrypted resource is not JSON');
      }
      return {
        event_type: fields.event_type,
        resource,
        serial: fields.serial,
        id: fields.id,
        create_time: fields.create_time,
        summary: fields.summary,
        resource_type: fields.resource_type,
        original_type: fields.original_type,
      };
    },

    verifyV3Response(args) {
      const { headers, body, keys, now } = options(args, '{headers, body, keys, now?}');
      const h = lowerHeaders(headers);
      const serial = call(() => raw.v3VerifyResponse(
        keySet(keys),
        h['wechatpay-timestamp'], h['wechatpay-nonce'], h['wechatpay-signature'], h['wechatpay-serial'],
        bodyBytes(body),
        nowSeconds(now),
        platform === null ? undefined : platform.verifyPkcs1Sha256,
      ));
      return { serial };
    },

    v3RequestMessage(args) {
      const { method, url, timestamp, nonce, body } = options(args, '{method, url, timestamp, nonce, body}');
      return call(() => raw.v3RequestMessage(
        text('method', method),
        text('url', url),
        typeof timestamp === 'string' && /^[0-9]+$/.test(timestamp) ? Number(timestamp) : timestamp,
        text('nonce', nonce),
        bodyBytes(body),
      ));
    },

    decryptV3Resource(resource, apiV3Key) {
      const r = options(resource, 'the resource object {algorithm, ciphertext, nonce, associated_data}');
      return call(() => raw.v3DecryptResource(
        text('resource.algorithm', r.algorithm),
        text('resource.nonce', r.nonce),
        r.associated_data === undefined || r.associated_data === null ? '' : text('resource.associated_data', r.associated_data),
        text('resource.ciphertext', r.ciphertext),
        text('apiV3Key', apiV3Key),
      ));
    },

    buildV3PaymentParams(args) {
      if (platform === null) {
        throw fail('NOT_SUPPORTED', 'buildV3PaymentParams needs the merchant private key: it runs in Node tooling only, never in a browser or mini program');
      }
      const { appId, prepayId, privateKey, timeStamp, nonceStr } =
        options(args, '{appId, prepayId, privateKey, timeStamp?, nonceStr?}');
      const kind = privateKinds.get(text('privateKey', privateKey)) ?? raw.v3PemKind(privateKey);
      if (kind === 'private_key' && !privateKinds.has(privateKey)) {
        if (privateKinds.size >= 8) privateKinds.delete(privateKinds.keys().next().value);
        privateKinds.set(privateKey, kind);
      }
      if (kind === 'encrypted_private_key') {
        throw fail('INVALID_KEY', 'the private key is password-protected: decrypt it first (openssl pkcs8 -in apiclient_key.pem -out key.pem)');
      }
      if (kind !== 'private_key') {
        throw fail('WRONG_KEY_KIND', `privateKey holds ${kind.replace('_', ' ')}: the merchant private key (apiclient_key.pem) belongs here`);
      }
      let seconds;
      if (timeStamp === undefined || timeStamp === null) seconds = Math.floor(Date.now() / 1000);
      else if (typeof timeStamp === 'string' && /^[0-9]+$/.test(timeStamp)) seconds = Number(timeStamp);
      else if (typeof timeStamp === 'number') seconds = timeStamp;
      else throw fail('INVALID_TIMESTAMP', 'timeStamp must be Unix seconds (a number or a string of digits)');
      const [stamp, nonce, pkg, message] = items(call(() => raw.v3PaySignMessage(
        text('appId', appId),
        text('prepayId', prepayId),
        nonceStr === undefined ? randomNonce() : text('nonceStr', nonceStr),
        seconds,
      )));
      let paySign;
      try {
        paySign = platform.signSha256Rsa(message, privateKey);
      } catch (error) {
        throw fail('INVALID_KEY', `the private key cannot sign: ${error.message}`);
      }
      return { timeStamp: stamp, nonceStr: nonce, package: pkg, signType: 'RSA', paySign };
    },

    checkV3PaymentParams(params, opts) {
      const o = opts || {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) {
        throw fail('INVALID_PARAMS', 'params must be the object passed to wx.requestPayment');
      }
      // A plain object from the wasm (serde-wasm-bindgen): {ok, problems, signedMessage?}.
      return call(() => raw.v3CheckPaymentParams(
        packTyped(params),
        o.appId === undefined ? '' : text('appId', o.appId),
        o.key === undefined ? '' : text('key', o.key),
        nowSeconds(o.now),
      ));
    },
  };
}
