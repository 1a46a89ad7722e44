// Types of wxpay-sign/push (the mini program's message push, 消息推送; Node CommonJS and
// ESM, browsers; no mini program entry: the Token and EncodingAESKey are server secrets).

/** Every error this package throws is an Error with a stable `code`. */
export interface WxpaySignError extends Error {
  code:
    | 'MISSING_PARAM'
    | 'INVALID_TIMESTAMP'
    | 'TIMESTAMP_OUTSIDE_WINDOW'
    | 'BAD_SIGNATURE'
    | 'INVALID_PUSH_KEY'
    | 'DECRYPT_FAILED'
    | 'WRONG_APPID'
    | 'INVALID_PUSH'
    | 'INVALID_ARGUMENT'
    | 'INVALID_OPTIONS'
    | string;
}

/**
 * The push request's query: an object (Express's `req.query`), URLSearchParams, or the
 * request URL or query string. `signature`, `timestamp`, `nonce`, and `echostr` (the URL
 * check) or `encrypt_type` and `msg_signature` (encrypted modes) are read from it.
 */
export type PushQuery =
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null }
  | string;

/** Unix seconds, or a Date. Default: now. */
export type Now = number | Date;

export interface PushUrlArgs {
  /** The Token (令牌) of the mini program's message push settings. */
  token: string;
  query: PushQuery;
  now?: Now;
  /** How far the timestamp may be from now (default 600). */
  maxAgeSecs?: number;
}

/** The URL check (WeChat's GET when the push URL is saved): the `echostr` to answer with. */
export function verifyPushUrl(args: PushUrlArgs): string;

export interface OpenPushArgs extends PushUrlArgs {
  /** The EncodingAESKey (消息加解密密钥), 43 characters: needed in compatible and secure modes. */
  encodingAesKey?: string;
  /** The mini program's appid: an encrypted message for another app is refused. */
  appid: string;
  /** The raw body, exactly as received (text or bytes; never a parsed object). */
  body: string | Uint8Array;
}

export interface OpenedPush {
  /**
   * `encrypted`: msg_signature and the appid inside verified. `plain`: the signature
   * covers only the Token, timestamp and nonce, not the body: act only on what WeChat's
   * API confirms, or use secure mode.
   */
  mode: 'plain' | 'encrypted';
  format: 'xml' | 'json';
  /** The message (decrypted in the encrypted modes). */
  message: string;
  /** Its top-level fields (JSON as parsed, XML as text); null if it is neither. */
  fields: Record<string, unknown> | null;
}

/** Checks a push (every mode, both formats) and gives its message. Throws with a code. */
export function openPush(args: OpenPushArgs): OpenedPush;

export interface SealPushArgs {
  token: string;
  encodingAesKey: string;
  appid: string;
  /** The message: text, or an object (sent as JSON). */
  message: string | object;
  /** Default: JSON when the message is an object or JSON text. */
  format?: 'xml' | 'json';
  timestamp?: string | number;
  nonce?: string;
}

/** A push exactly as WeChat sends one in secure mode: to test a push handler. */
export function sealPush(args: SealPushArgs): {
  query: { signature: string; timestamp: string; nonce: string; encrypt_type: 'aes'; msg_signature: string };
  body: string;
};

export interface ExplainPushArgs {
  token?: string;
  encodingAesKey?: string;
  appid?: string;
  query: PushQuery;
  body?: string | Uint8Array;
  now?: Now;
  maxAgeSecs?: number;
}

export interface PushProblem {
  /** e.g. `query.signature`, `query.msg_signature`, `body.Encrypt`, `encodingAesKey`, `appid`. */
  field: string;
  code:
    | 'MISSING_PARAM'
    | 'INVALID_TIMESTAMP'
    | 'TIMESTAMP_OUTSIDE_WINDOW'
    | 'TOKEN_REQUIRED'
    | 'BAD_SIGNATURE'
    | 'INVALID_PUSH'
    | 'PLUS_AS_SPACE'
    | 'KEY_REQUIRED'
    | 'INVALID_PUSH_KEY'
    | 'DECRYPT_FAILED'
    | 'WRONG_APPID'
    | 'APPID_REQUIRED'
    | string;
  message: string;
}

export interface PushReport {
  ok: boolean;
  kind: 'url check' | 'plain push' | 'encrypted push';
  format?: 'xml' | 'json' | 'unreadable';
  problems: PushProblem[];
  /** What `signature` is the SHA1 of, in order; the Token shown as `<Token>`. */
  signedParts?: string[];
  expectedSignature?: string;
  givenSignature?: string;
  expectedMsgSignature?: string;
  givenMsgSignature?: string;
  /** The appid inside the decrypted message. */
  appidFound?: string;
  /** The message's `Event` (or `MsgType`). */
  event?: string;
  /** The verified message; only when `ok`. */
  message?: string;
  notes: string[];
}

/** Why does this push not verify? Every check in order; never echoes the Token or key. */
export function explainPush(args: ExplainPushArgs): PushReport;

/** Nothing to load in Node; in browsers, loads the wasm once. */
export function init(input?: unknown): Promise<void>;

declare const api: {
  verifyPushUrl: typeof verifyPushUrl;
  openPush: typeof openPush;
  sealPush: typeof sealPush;
  explainPush: typeof explainPush;
  init: typeof init;
};
export default api;
