// Helpers both wrappers use (scripts/build.mjs puts this file before js/api.js and
// js/api_v3.js in every entry point).

function fail(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

function text(name, value) {
  if (typeof value !== 'string') throw fail('INVALID_ARGUMENT', `${name} must be a string`);
  return value;
}

// One `<length>:<text>` item; lengths are UTF-16 units (JavaScript's `length`).
function item(value) {
  return value.length + ':' + value;
}

// Results come back packed the same way: items one after another.
function items(packed) {
  const out = [];
  let at = 0;
  while (at < packed.length) {
    const colon = packed.indexOf(':', at);
    const length = Number(packed.slice(at, colon));
    out.push(packed.slice(colon + 1, colon + 1 + length));
    at = colon + 1 + length;
  }
  return out;
}

// For the params checkers the type of each param matters, so it travels too: name, a
// one-letter type (s string, d number, n null, b boolean, a array, o object), text.
const PAYMENT_FIELDS = ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign'];
function packTyped(params) {
  let packed = '';
  for (const name of PAYMENT_FIELDS) {
    const value = params[name];
    if (value === undefined) continue;
    let kind;
    let textValue = '';
    if (value === null) kind = 'n';
    else if (typeof value === 'string') { kind = 's'; textValue = value; }
    else if (typeof value === 'number') { kind = 'd'; textValue = String(value); }
    else if (typeof value === 'boolean') kind = 'b';
    else if (Array.isArray(value)) kind = 'a';
    else kind = 'o';
    packed += item(name) + '1:' + kind + item(textValue);
  }
  return packed;
}

// 32 random letters and digits, from the platform's cryptographic random source.
function randomNonce() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let nonce = '';
  for (let i = 0; i < bytes.length; i++) nonce += alphabet[bytes[i] % alphabet.length];
  return nonce;
}
