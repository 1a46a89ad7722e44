// The wxpay-sign/push JavaScript API: the mini program's message push (消息推送) for a Node
// backend (or a browser tool), over the push wasm (`--features push`). Single source:
// scripts/build.mjs embeds it into the push CommonJS, ESM and browser entry points. The
// Token and EncodingAESKey are server secrets: there is no mini program entry.

function makePushApi(raw) {
  const [call, options, nowSeconds] = [guardedCall, argsObject, unixSeconds];

  function maxAge(value) {
    if (value === undefined || value === null) return 600;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    throw fail('INVALID_OPTIONS', 'maxAgeSecs must be a whole number of seconds');
  }

  // The query as the framework gave it: an object (Express's req.query; arrays take
  // their first value), URLSearchParams, or the request URL / query string.
  const SIGNED = ['signature', 'timestamp', 'nonce', 'echostr', 'encrypt_type', 'msg_signature'];
  function packQuery(query) {
    let lookup;
    if (typeof query === 'string') {
      const at = query.indexOf('?');
      const params = new URLSearchParams(at >= 0 ? query.slice(at + 1) : query);
      lookup = (name) => params.get(name);
    } else if (typeof URLSearchParams !== 'undefined' && query instanceof URLSearchParams) {
      lookup = (name) => query.get(name);
    } else if (query !== null && typeof query === 'object') {
      lookup = (name) => {
        const value = Array.isArray(query[name]) ? query[name][0] : query[name];
        return value === undefined || value === null ? null : String(value);
      };
    } else {
      throw fail('INVALID_ARGUMENT', 'query must be the request\'s query: an object, URLSearchParams or the URL');
    }
    let packed = '';
    for (const name of SIGNED) {
      const value = lookup(name);
      if (value !== null) packed += item(name) + item(value);
    }
    return packed;
  }

  // The raw body as text: a string, or the bytes (Buffer / Uint8Array), never an object.
  const decoder = typeof TextDecoder === 'undefined' ? null : new TextDecoder('utf-8', { fatal: true });
  function bodyText(body) {
    if (body === undefined || body === null) return '';
    if (typeof body === 'string') return body;
    if (body instanceof Uint8Array && decoder !== null) {
      try {
        return decoder.decode(body);
      } catch {
        throw fail('INVALID_PUSH', 'the body is not UTF-8 text');
      }
    }
    throw fail('INVALID_ARGUMENT', 'body must be the raw body text (or bytes) exactly as received, never a parsed object');
  }

  function optionalText(name, value) {
    return value === undefined || value === null ? '' : text(name, value);
  }

  function randomBytes(n) {
    const bytes = new Uint8Array(n);
    globalThis.crypto.getRandomValues(bytes);
    return bytes;
  }

  return {
    verifyPushUrl(args) {
      const { token, query, now, maxAgeSecs } = options(args, '{token, query, now?, maxAgeSecs?}');
      return call(() => raw.pushUrlCheck(text('token', token), packQuery(query), nowSeconds(now), maxAge(maxAgeSecs)));
    },

    openPush(args) {
      const { token, encodingAesKey, appid, query, body, now, maxAgeSecs } =
        options(args, '{token, encodingAesKey?, appid, query, body, now?, maxAgeSecs?}');
      const out = items(call(() => raw.pushOpen(
        text('token', token),
        optionalText('encodingAesKey', encodingAesKey),
        text('appid', appid),
        packQuery(query),
        bodyText(body),
        nowSeconds(now),
        maxAge(maxAgeSecs),
      )));
      const [encrypted, format, message, readable] = out;
      // The fields of a message that is XML or a JSON object (WeChat's always are), else
      // null. JSON keeps its numbers as numbers: parsed here, not from the text pairs.
      let fields = null;
      if (readable === '1' && message.trimStart().startsWith('{')) {
        fields = JSON.parse(message);
      } else if (readable === '1') {
        fields = {};
        for (let i = 4; i + 1 < out.length; i += 2) fields[out[i]] = out[i + 1];
      }
      return { mode: encrypted === '1' ? 'encrypted' : 'plain', format, message, fields };
    },

    sealPush(args) {
      const { token, encodingAesKey, appid, message, format, timestamp, nonce } =
        options(args, '{token, encodingAesKey, appid, message, format?, timestamp?, nonce?}');
      const ts = timestamp === undefined || timestamp === null ? String(nowSeconds()) : text('timestamp', String(timestamp));
      const n = nonce === undefined || nonce === null ? String(randomBytes(4).reduce((a, b) => a * 256 + b, 0)) : text('nonce', nonce);
      const messageText = typeof message === 'string' ? message : JSON.stringify(options(message, 'message: the text, or an object for JSON'));
      const chosen = format === undefined ? (messageText.trimStart().startsWith('{') ? 'json' : 'xml') : text('format', format);
      const [signature, msgSignature, body] = items(call(() => raw.pushSeal(
        text('token', token), text('encodingAesKey', encodingAesKey), text('appid', appid),
        messageText, ts, n, randomBytes(16), chosen,
      )));
      return {
        query: { signature, timestamp: ts, nonce: n, encrypt_type: 'aes', msg_signature: msgSignature },
        body,
      };
    },

    explainPush(args) {
      const { token, encodingAesKey, appid, query, body, now, maxAgeSecs } =
        options(args, '{token?, encodingAesKey?, appid?, query, body?, now?, maxAgeSecs?}');
      return call(() => raw.pushExplain(
        optionalText('token', token),
        optionalText('encodingAesKey', encodingAesKey),
        optionalText('appid', appid),
        packQuery(query),
        bodyText(body),
        nowSeconds(now),
        maxAge(maxAgeSecs),
      ));
    },
  };
}
