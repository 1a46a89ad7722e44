// wx.request as a promise: resolves with {statusCode, data} for any HTTP status, rejects
// only when no answer came (no network, timeout, a domain not allowed).
function request(options) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: options.url,
      method: options.method || 'GET',
      data: options.data,
      header: Object.assign({ 'content-type': 'application/json' }, options.header),
      timeout: options.timeout || 10000,
      success: (res) => resolve({ statusCode: res.statusCode, data: res.data }),
      fail: (res) => reject(new Error((res && res.errMsg) || 'request failed')),
    });
  });
}

module.exports = { request };
