// Helpers both wrappers use (scripts/build.mjs puts this file before js/api.js and
// js/api_v3.js in every entry point).

function fail(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

// A wasm call whose errors come out as Errors with a code (wasm's have one already).
function guardedCall(fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof Error && typeof error.code === 'string') throw error;
    throw fail('INTERNAL', String(error && error.message ? error.message : error));
  }
}

// The one argument object of the v3 and push calls.
function argsObject(value, what) {
  if (value === null || typeof value !== 'object') throw fail('INVALID_ARGUMENT', `pass ${what}`);
  return value;
}

// Unix seconds (an integer) or a Date, for the v3 and push calls; default now. (The v2
// checker takes milliseconds, its own way.)
function unixSeconds(now) {
  if (now === undefined || now === null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === 'number' && Number.isInteger(now)) return now;
  throw fail('INVALID_OPTIONS', 'now must be Unix seconds (an integer) or a Date');
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
