// The wxpay server's API: JSON over wx.request, with the login token from POST /v1/login.
const config = require('../config.js');
const http = require('./http.js');
const wechat = require('./wechat.js');

const TOKEN_KEY = 'token';

// An error answer ({code, message}) or no answer at all (code NETWORK).
function ApiError(status, code, message) {
  const error = new Error(code + ': ' + message);
  error.status = status;
  error.code = code;
  return error;
}

function send(method, path, data, token) {
  const header = token ? { authorization: 'Bearer ' + token } : {};
  return http.request({ method, url: config.apiBaseUrl + path, data, header }).catch((error) => {
    throw ApiError(0, 'NETWORK', error.message);
  });
}

// One login at a time: pages asking together share it.
let loggingIn = null;

function login() {
  if (loggingIn === null) {
    loggingIn = wechat
      .login()
      .then((code) => send('POST', '/v1/login', { code }))
      .then((res) => {
        if (res.statusCode !== 200) throw answerError(res);
        // The token is all this device keeps: openid and session_key stay on the server.
        wx.setStorageSync(TOKEN_KEY, res.data.token);
        return res.data.token;
      })
      .then(
        (token) => {
          loggingIn = null;
          return token;
        },
        (error) => {
          loggingIn = null;
          throw error;
        },
      );
  }
  return loggingIn;
}

function answerError(res) {
  const body = res.data && typeof res.data === 'object' ? res.data : {};
  return ApiError(res.statusCode, body.code || 'HTTP_' + res.statusCode, body.message || 'unexpected answer');
}

// Calls the API; `auth` sends the token, logging in first when there is none. The token
// is not checked against its expires_at here (the phone's clock may be off): a 401 means
// it expired or was revoked, and one fresh login retries the call.
function call(method, path, data, auth) {
  if (!auth) return send(method, path, data).then(check);
  const stored = wx.getStorageSync(TOKEN_KEY);
  const first = stored ? Promise.resolve(stored) : login();
  return first
    .then((token) => send(method, path, data, token))
    .then((res) => {
      if (res.statusCode !== 401 || !stored) return res;
      wx.removeStorageSync(TOKEN_KEY);
      return login().then((token) => send(method, path, data, token));
    })
    .then(check);
}

function check(res) {
  if (res.statusCode >= 200 && res.statusCode < 300) return res.data;
  throw answerError(res);
}

// Logs in unless a token is kept already.
function ensureLogin() {
  const stored = wx.getStorageSync(TOKEN_KEY);
  return stored ? Promise.resolve(stored) : login();
}

module.exports = {
  ensureLogin,
  products: () => call('GET', '/v1/products'),
  createOrder: (items) => call('POST', '/v1/orders', { items }, true),
  order: (orderNo) => call('GET', '/v1/orders/' + orderNo, undefined, true),
  // Fresh wx.requestPayment params for an open order ("pay again").
  payAgain: (orderNo) => call('POST', '/v1/orders/' + orderNo + '/payment', undefined, true),
  // Optional: 404 on a server without it (the debug check then does less).
  paymentConfig: () => call('GET', '/v1/payment-config'),
};
