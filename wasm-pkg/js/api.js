// The wxpay-sign JavaScript API over the raw wasm exports. This file is the single
// source of the wrapper: scripts/build.mjs embeds it into the CommonJS, ESM and browser
// entry points. It writes each call's input into wasm memory in one go (js/scratch.js; one
// JS->wasm crossing per call) and gives every failure a real Error with a `code`.

function makeApi(raw) {
  const encoder = new TextEncoder();
  // ignoreBOM: a text starting with U+FEFF keeps it (the default decoder drops it). Also
  // for the hex of a sign: half the time of String.fromCharCode.apply over the bytes.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const scratch = makeScratch(raw, encoder, decoder);
  const hasOwn = Object.prototype.hasOwnProperty;

  // Each key and value as a text of the frame. null and undefined values are absent
  // (and empty values are not signed anyway).
  function writeParams(frame, params) {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw fail('INVALID_PARAMS', 'params must be an object of strings and integers');
    }
    // for-in with an own-property check visits what Object.keys lists, in its order, but
    // through V8's enum cache: a fifth of the time of Object.keys and a keyed loop.
    for (const key in params) {
      if (!hasOwn.call(params, key)) continue;
      let value = params[key];
      if (typeof value !== 'string') {
        if (value === undefined || value === null) continue;
        if (typeof value === 'number' && Number.isSafeInteger(value)) {
          value = String(value);
        } else {
          throw fail('INVALID_PARAMS', `${key}: values must be strings or integers (amounts are integer fen), got ${typeof value === 'number' ? value : typeof value}`);
        }
      }
      frame.text(key);
      frame.text(value);
    }
  }

  // What the other hot calls write (beside writeParams): the key and signType (checked
  // first), then the params; the XML; the key, signType and XML.
  function fillKeyedParams(frame, key, signType, params) {
    frame.text(text('key', key));
    frame.text(signTypeArg(signType));
    writeParams(frame, params);
  }

  function fillXml(frame, xml) {
    frame.text(text('xml', xml));
  }

  function fillKeyedXml(frame, key, signType, xml) {
    frame.text(text('key', key));
    frame.text(signTypeArg(signType));
    frame.text(text('xml', xml));
  }

  // One hot call: `fill` writes its input into a frame, `operation` runs on it; the view
  // of its output is read before anything else can call in. (Plain functions and
  // arguments rather than a closure per call: nothing to allocate.)
  function call(operation, fill, a, b, c) {
    const frame = scratch.open();
    try {
      fill(frame, a, b, c);
      return frame.run(operation);
    } finally {
      scratch.close();
    }
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
      return decoder.decode(call(raw.canonicalScratch, writeParams, params));
    },

    sign(params, key, signType) {
      return decoder.decode(call(raw.signScratch, fillKeyedParams, key, signType, params));
    },

    verifySign(params, key, signType) {
      return decoder.decode(call(raw.verifyScratch, fillKeyedParams, key, signType, params)) === '1';
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
      return scratch.object(call(raw.parseXmlScratch, fillXml, xml));
    },

    toXml(params) {
      return decoder.decode(call(raw.toXmlScratch, writeParams, params));
    },

    verifyPayNotify(xml, key, signType) {
      return scratch.object(call(raw.verifyPayNotifyScratch, fillKeyedXml, key, signType, xml));
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
