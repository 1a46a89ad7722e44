// Compile-time check (tsc -p test): the shipped types fit wx.requestPayment's own.
import { buildPaymentParams, checkPaymentParams, type PaymentParams } from 'wxpay-sign';

const params: PaymentParams = buildPaymentParams({ appId: 'wx1', prepayId: 'wx2', key: 'k'.repeat(32) });
const option: WechatMiniprogram.RequestPaymentOption = { ...params, success() {}, fail() {} };
const report = checkPaymentParams(option as unknown as Record<string, unknown>, { now: new Date() });
const firstCode: string | undefined = report.problems[0]?.code;
export { option, firstCode };
