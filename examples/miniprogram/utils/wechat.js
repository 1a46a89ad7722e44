// WeChat's side of the flow: wx.login and wx.requestPayment, as promises. In a develop or
// trial build with config.simulatorUrl set, the sandbox's WeChat simulator plays both
// (its control API, over wx.request): its codes and prepay_ids mean nothing to real WeChat.
const config = require('../config.js');
const http = require('./http.js');

function account() {
  return wx.getAccountInfoSync().miniProgram;
}

// 'develop' (DevTools, preview), 'trial' (体验版) or 'release' (正式版).
function isRelease() {
  return account().envVersion === 'release';
}

function useSimulator() {
  return Boolean(config.simulatorUrl) && !isRelease();
}

// The simulator's wx.login also names the user; its wx.requestPayment needs that openid
// (real WeChat knows who is holding the phone). Kept across restarts with the token.
const OPENID_KEY = 'sim_openid';

function simulate(path, body) {
  return http.request({ method: 'POST', url: config.simulatorUrl + path, data: body }).then((res) => {
    if (res.statusCode !== 200) throw new Error('simulator ' + path + ': HTTP ' + res.statusCode);
    return res.data;
  });
}

// Resolves with a fresh login code for POST /v1/login.
function login() {
  if (useSimulator()) {
    return simulate('/sim/login', { appid: account().appId }).then((reply) => {
      wx.setStorageSync(OPENID_KEY, reply.openid);
      return reply.code;
    });
  }
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => resolve(res.code),
      fail: (res) => reject(new Error(res.errMsg || 'wx.login failed')),
    });
  });
}

// Pays with the five params exactly as the server gave them. Always resolves with WeChat's
// errMsg: 'requestPayment:ok', 'requestPayment:fail cancel' or another failure. An ok is
// only the phone's word: the caller asks the server whether the order is paid.
function requestPayment(params) {
  const five = {
    timeStamp: params.timeStamp,
    nonceStr: params.nonceStr,
    package: params.package,
    signType: params.signType,
    paySign: params.paySign,
  };
  if (useSimulator()) {
    const body = Object.assign({ appid: account().appId, openid: wx.getStorageSync(OPENID_KEY) }, five);
    return simulate('/sim/pay', body).then(
      (reply) => reply.errMsg,
      (error) => 'requestPayment:fail ' + error.message,
    );
  }
  return new Promise((resolve) => {
    wx.requestPayment(Object.assign({}, five, {
      success: (res) => resolve(res.errMsg || 'requestPayment:ok'),
      fail: (res) => resolve((res && res.errMsg) || 'requestPayment:fail'),
    }));
  });
}

module.exports = { account, isRelease, login, requestPayment };
