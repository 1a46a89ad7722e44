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

// WeChat's receipt confirmation component answers through App.onShow, from this appid.
const RECEIPT_COMPONENT_APPID = 'wx1183b055aeec94d1';
let waitingReceipt = null;

// Opens WeChat's "confirm receipt" (the order-shipping service) for a paid transaction.
// Resolves with the component's word, {status: 'success' | 'cancel' | 'fail', errormsg}:
// only the phone's word again; the server (told by WeChat) has the order's real state.
function confirmReceipt(transactionId) {
  const extraData = { transaction_id: transactionId };
  if (useSimulator()) {
    const body = Object.assign({ appid: account().appId }, extraData);
    return simulate('/sim/shipping/confirm', body).then(
      () => ({ status: 'success' }),
      (error) => ({ status: 'fail', errormsg: error.message }),
    );
  }
  return new Promise((resolve) => {
    waitingReceipt = { resolve, transactionId };
    wx.openBusinessView({
      businessType: 'weappOrderConfirm',
      extraData,
      fail: (res) => {
        waitingReceipt = null;
        resolve({ status: 'fail', errormsg: (res && res.errMsg) || 'openBusinessView:fail' });
      },
    });
  });
}

// App.onShow's referrerInfo: the component's answer, when it is one for the open request.
function receiptReturned(referrerInfo) {
  if (!waitingReceipt || !referrerInfo || referrerInfo.appId !== RECEIPT_COMPONENT_APPID) return;
  const answer = referrerInfo.extraData || {};
  const asked = answer.req_extradata || {};
  if (asked.transaction_id && asked.transaction_id !== waitingReceipt.transactionId) return;
  const { resolve } = waitingReceipt;
  waitingReceipt = null;
  resolve({ status: answer.status || 'fail', errormsg: answer.errormsg || '' });
}

module.exports = { account, isRelease, login, requestPayment, confirmReceipt, receiptReturned };
