# Vectors for wxpay-core's push crypto, made by wechatpy (an independent implementation).
import base64, json, random, string
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
import wechatpy
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner
import xmltodict

rng = random.Random(20261207)
alphabet = string.ascii_letters + string.digits + "+/"
messages = [
    "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><Event><![CDATA[trade_manage_order_settlement]]></Event></xml>",
    json.dumps({"ToUserName": "gh_abc", "Event": "trade_manage_remind_shipping", "msg": "请尽快发货"}, ensure_ascii=False),
    "",
    "x" * 27,
    "短" * 50,
]
vectors = []
for i, message in enumerate(messages):
    key = "".join(rng.choice(alphabet) for _ in range(43))
    token = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(3, 32)))
    appid = "wx" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
    timestamp = str(1765000000 + i)
    nonce = str(rng.randint(10**8, 10**9))
    crypto = WeChatCrypto(token, key, appid)
    xml = crypto.encrypt_message(message, nonce, timestamp)
    parsed = xmltodict.parse(xml)["xml"]
    encrypt, signature = parsed["Encrypt"], parsed["MsgSignature"]
    assert crypto.decrypt_message(xml, signature, timestamp, nonce) == message
    raw_key = base64.b64decode(key + "=")
    d = Cipher(algorithms.AES(raw_key), modes.CBC(raw_key[:16])).decryptor()
    plain = d.update(base64.b64decode(encrypt)) + d.finalize()
    signer = WeChatSigner(); signer.add_data(token, timestamp, nonce)
    vectors.append({
        "token": token, "encoding_aes_key": key, "appid": appid,
        "timestamp": timestamp, "nonce": nonce, "message": message,
        "random": base64.b64encode(plain[:16]).decode(),
        "encrypt": encrypt, "msg_signature": signature,
        "url_signature": signer.signature,
    })
print(json.dumps({"source": f"wechatpy {wechatpy.__version__} WeChatCrypto (scripts in crates/wxpay-core/tests/vectors/make_push_vectors.py)", "vectors": vectors}, ensure_ascii=False, indent=2))
