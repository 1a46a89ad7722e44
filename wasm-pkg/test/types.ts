// Compile-time check (tsc -p test): the shipped types fit wx.requestPayment's own.
import { buildPaymentParams, checkPaymentParams, type PaymentParams } from 'wxpay-sign';

const params: PaymentParams = buildPaymentParams({ appId: 'wx1', prepayId: 'wx2', key: 'k'.repeat(32) });
const option: WechatMiniprogram.RequestPaymentOption = { ...params, success() {}, fail() {} };
const report = checkPaymentParams(option as unknown as Record<string, unknown>, { now: new Date() });
const firstCode: string | undefined = report.problems[0]?.code;
export { option, firstCode };

// wxpay-sign/v3: v3 params fit wx.requestPayment too (signType 'RSA').
import { buildV3PaymentParams, checkV3PaymentParams, verifyV3Notify, type V3PaymentParams } from 'wxpay-sign/v3';

const v3Params: V3PaymentParams = buildV3PaymentParams({ appId: 'wx1', prepayId: 'wx2', privateKey: '-----BEGIN PRIVATE KEY-----' });
const v3Option: WechatMiniprogram.RequestPaymentOption = { ...v3Params, success() {} };
const v3Report = checkV3PaymentParams(v3Params as unknown as Record<string, unknown>, { appId: 'wx1', now: 0 });
const notified: string = verifyV3Notify({ headers: {}, body: '', keys: {}, apiV3Key: 'k', now: 0 }).event_type;
export { v3Option, v3Report, notified };

// wxpay-sign/push: a push handler's calls.
import { openPush, explainPush, sealPush } from 'wxpay-sign/push';

const sealedPush = sealPush({ token: 't', encodingAesKey: 'k', appid: 'wx1', message: { Event: 'x' } });
const openedPush: 'plain' | 'encrypted' = openPush({ token: 't', appid: 'wx1', query: sealedPush.query, body: sealedPush.body }).mode;
const pushCodes: string[] = explainPush({ query: 'signature=1' }).problems.map((p) => p.code);
export { openedPush, pushCodes };
