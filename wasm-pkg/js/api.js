// The wxpay-sign JavaScript API over the raw wasm exports. This file is the single
// source of the wrapper: scripts/build.mjs embeds it into the CommonJS, ESM and browser
// entry points. It packs parameter maps into one string (one JS->wasm crossing per call)
// and gives every failure a real Error with a `code`.

function makeApi(raw) {
  // Each key and value as `<length>:<text>`; lengths are UTF-16 units (JS `length`).
  // null and undefined values are absent (and empty values are not signed anyway).
  function pack(params) {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw fail('INVALID_PARAMS', 'params must be an object of strings and integers');
    }
    let packed = '';
    const keys = Object.keys(params);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      let value = params[key];
      if (typeof value !== 'string') {
        if (value === undefined || value === null) continue;
        if (typeof value === 'number' && Number.isSafeInteger(value)) {
          value = String(value);
        } else {
          throw fail('INVALID_PARAMS', `${key}: values must be strings or integers (amounts are integer fen), got ${typeof value === 'number' ? value : typeof value}`);
        }
      }
      packed += key.length + ':' + key + value.length + ':' + value;
    }
    return packed;
  }

  // The hot calls go through a scratch buffer in wasm memory: the engine's native
  // encodeInto writes the input there (wasm-bindgen's string passing copies ASCII one
  // character at a time, which cost more than signing), and the output is read back.
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let memory = null;

  function viaScratch(operation, input) {
    const capacity = input.length * 3 + 16;
    const at = raw.scratchBuffer(capacity);
    if (memory === null) memory = raw.wasmMemory();
    const { written } = encoder.encodeInto(input, new Uint8Array(memory.buffer, at, capacity));
    const length = operation(written);
    // The buffer moves only for an output longer than it (signs never are): ask for its
    // address again only then, which saves a wasm call on the hot path.
    const output = length <= capacity ? at : raw.scratchBuffer(0);
    return new Uint8Array(memory.buffer, output, length);
  }

  function scratchText(operation, input) {
    return decoder.decode(viaScratch(operation, input));
  }

  // Signs are hex: no UTF-8 decoding needed.
  function scratchAscii(operation, input) {
    return String.fromCharCode.apply(null, viaScratch(operation, input));
  }

  // The keyed calls' input starts with the key and signType items (checked first).
  function keyPrefix(key, signType) {
    return item(text('key', key)) + item(signTypeArg(signType));
  }

  function object(packed) {
    const list = items(packed);
    const result = {};
    for (let i = 0; i < list.length; i += 2) result[list[i]] = list[i + 1];
    return result;
  }

  function signTypeArg(signType) {
    if (signType === undefined || signType === null) return '';
    if (typeof signType !== 'string') throw fail('INVALID_SIGN_TYPE', 'signType must be "MD5" or "HMAC-SHA256"');
    return signType;
  }

  function nowSeconds(now) {
    if (now === undefined || now === null) return Math.floor(Date.now() / 1000);
    if (now instanceof Date) return Math.floor(now.getTime() / 1000);
    if (typeof now === 'number' && Number.isFinite(now)) return Math.floor(now / 1000);
    throw fail('INVALID_OPTIONS', 'now must be a Date or milliseconds since the epoch');
  }

  return {
    canonicalString(params) {
      return scratchText(raw.canonicalScratch, pack(params));
    },

    sign(params, key, signType) {
      return scratchAscii(raw.signScratch, keyPrefix(key, signType) + pack(params));
    },

    verifySign(params, key, signType) {
      return scratchAscii(raw.verifyScratch, keyPrefix(key, signType) + pack(params)) === '1';
    },

    buildPaymentParams(options) {
      if (options === null || typeof options !== 'object') {
        throw fail('INVALID_ARGUMENT', 'pass {appId, prepayId, key, signType?, nonceStr?, timeStamp?}');
      }
      const { appId, prepayId, key, signType, nonceStr, timeStamp } = options;
      let seconds;
      if (timeStamp === undefined || timeStamp === null) {
        seconds = Math.floor(Date.now() / 1000);
      } else if (typeof timeStamp === 'string' && /^[0-9]+$/.test(timeStamp)) {
        seconds = Number(timeStamp);
      } else if (typeof timeStamp === 'number') {
        seconds = timeStamp;
      } else {
        throw fail('INVALID_TIMESTAMP', 'timeStamp must be Unix seconds (a number or a string of digits)');
      }
      const [stamp, nonce, pkg, type, paySign] = items(raw.buildPaymentParamsRaw(
        text('appId', appId),
        text('prepayId', prepayId),
        text('key', key),
        signTypeArg(signType),
        nonceStr === undefined ? randomNonce() : text('nonceStr', nonceStr),
        seconds,
      ));
      return { timeStamp: stamp, nonceStr: nonce, package: pkg, signType: type, paySign };
    },

    checkPaymentParams(params, options) {
      const opts = options || {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) {
        throw fail('INVALID_PARAMS', 'params must be the object passed to wx.requestPayment');
      }
      // A plain object from the wasm (serde-wasm-bindgen): {ok, problems, canonical?, expectedPaySign?}.
      return raw.checkPaymentParamsPacked(
        packTyped(params),
        opts.appId === undefined ? '' : text('appId', opts.appId),
        opts.key === undefined ? '' : text('key', opts.key),
        nowSeconds(opts.now),
      );
    },

    parseXml(xml) {
      return object(scratchText(raw.parseXmlScratch, text('xml', xml)));
    },

    toXml(params) {
      return scratchText(raw.toXmlScratch, pack(params));
    },

    verifyPayNotify(xml, key, signType) {
      return object(scratchText(raw.verifyPayNotifyScratch, keyPrefix(key, signType) + text('xml', xml)));
    },

    decryptRefundInfo(reqInfo, key) {
      return object(raw.decryptRefundInfoRaw(text('reqInfo', reqInfo), text('key', key)));
    },

    decryptUserData(encryptedData, sessionKey, iv, appId) {
      const json = raw.decryptUserDataRaw(
        text('encryptedData', encryptedData),
        text('sessionKey', sessionKey),
        text('iv', iv),
      );
      let data;
      try {
        data = JSON.parse(json);
      } catch {
        throw fail('INVALID_INPUT', 'decrypted data is not JSON');
      }
      const watermark = data && data.watermark;
      if (!watermark || typeof watermark.appid !== 'string') {
        throw fail('INVALID_INPUT', 'decrypted data has no watermark.appid');
      }
      // Data decrypted for another Mini Program is refused.
      if (appId !== undefined && watermark.appid !== text('appId', appId)) {
        throw fail('WATERMARK_MISMATCH', `watermark.appid is ${JSON.stringify(watermark.appid)}, not this Mini Program's appid`);
      }
      return data;
    },

    rawDataSignature(rawData, sessionKey) {
      return raw.rawDataSignature(text('rawData', rawData), text('sessionKey', sessionKey));
    },

    sessionSignature(sessionKey, body) {
      return raw.sessionSignature(text('sessionKey', sessionKey), text('body', body === undefined ? '' : body));
    },
  };
}
