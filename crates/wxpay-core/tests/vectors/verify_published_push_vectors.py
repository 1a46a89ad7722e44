import base64, hashlib, struct
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

def sig(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()

def key_of(ek):
    assert len(ek) == 43
    k = base64.b64decode(ek + "=")
    assert len(k) == 32
    return k

def dec(ek, b64):
    k = key_of(ek)
    ct = base64.b64decode(b64)
    d = Cipher(algorithms.AES(k), modes.CBC(k[:16])).decryptor()
    pt = d.update(ct) + d.finalize()
    pad = pt[-1]
    assert 1 <= pad <= 32 and pt[-pad:] == bytes([pad])*pad, ("bad pad", pad)
    body = pt[:-pad]
    rnd = body[:16]
    n = struct.unpack(">I", body[16:20])[0]
    msg = body[20:20+n]
    appid = body[20+n:]
    return dict(ct_len=len(ct), full_len=len(body), pad=pad, rnd=rnd, n=n, msg=msg.decode(), appid=appid.decode())

def enc(ek, rnd, msg, appid):
    k = key_of(ek)
    m = msg.encode()
    full = rnd.encode() + struct.pack(">I", len(m)) + m + appid.encode()
    pad = 32 - len(full) % 32
    full += bytes([pad])*pad
    e = Cipher(algorithms.AES(k), modes.CBC(k[:16])).encryptor()
    return base64.b64encode(e.update(full)+e.finalize()).decode()

def check(name, cond):
    print(("PASS " if cond else "FAIL ") + name)

print("=== V1 mini program message-push doc: GET verify")
check("sig(AAAAA,1714036504,1514711492)", sig("AAAAA","1714036504","1514711492")=="f464b24fc39322e44b38aa78f5edd27bd1441696")
print("=== V2 plaintext POST")
check("sig(AAAAA,1714037059,486452656)", sig("AAAAA","1714037059","486452656")=="899cf89e464efb63f54ddac96b0a0a235f53aa78")
print("=== V3 secure POST")
EK="A"*43; APPID="wxba5fad812f8e6fb9"
E3="+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
check("msg_signature", sig("AAAAA","1714112445","415670741",E3)=="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3")
print("  URL signature (token,ts,nonce) =", sig("AAAAA","1714112445","415670741"), "doc says 6c5c811b55cc85e0e1b54100749188c20beb3f5d")
r=dec(EK,E3); print("  ", r)
check("decrypt msg", r["msg"]=='{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}')
check("rnd/len/appid/ct_len/full_len", r["rnd"]==b"a8eedb185eb2fecf" and r["n"]==167 and r["appid"]==APPID and r["ct_len"]==224 and r["full_len"]==205)
print("=== V4 encrypted reply")
E4=enc(EK,"707722b803182950",'{"demo_resp":"good luck"}',APPID)
check("encrypt reply == doc", E4=="ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==")
check("reply MsgSignature", sig("AAAAA","1713424427","415670741",E4)=="1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1")

print("=== V5 WeCom WXBizMsgCrypt sample (QDG6eK)")
EK5="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"; ID5="wx5823bf96d3bd56c7"
ECHO="P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
check("verify-url msg_signature", sig("QDG6eK","1409659589","263014780",ECHO)=="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")
r=dec(EK5,ECHO); print("  echo:", r)
E5="RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
check("request msg_signature", sig("QDG6eK","1409659813","1372623149",E5)=="477715d11cdb4164915debcba66cb864d751f3e6")
r=dec(EK5,E5); print("  req:", repr(r))

print("=== V6 MP WXBizMsgCrypt python demo (spamtest)")
EK6="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"; ID6="wx2c2769f8efd9abc2"
E6="hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
check("msg_signature", sig("spamtest","1409735669","1320562132",E6)=="5d197aaffba7e9b25a30732f161a50dee96bd5fa")
r=dec(EK6,E6); print("  ", repr(r))

print("=== V7 wechatpy tests/test_crypto.py (work crypto; same algorithm)")
EK7="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"; ID7="wx49f0ab532d5d035a"
ECHO7="4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
check("check_signature ok", sig("123456","1411443780","437374425",ECHO7)=="dd6b9c95b495b3f7e2901bfbc76c664930ffdb96")
print("  echo:", repr(dec(EK7,ECHO7)))
E7="RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
check("decrypt_message signature", sig("123456","1411525903","461056294",E7)=="74d92dfeb87ba7c714f89d98870ae5eb62dff26d")
print("  req:", repr(dec(EK7,E7)))
reply="""<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
E7b=enc(EK7,"1234567890123456",reply,ID7)
exp7="9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
check("encrypt_message Encrypt", E7b==exp7)
check("encrypt_message MsgSignature", sig("123456","1411525903","461056294",E7b)=="407518b7649e86ef23978113f92d27afa9296533")

print("=== V8 WxJava WxCryptUtilTest")
EK8="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"; ID8="wxb11529c136998cb6"
check("afterAesEncrypt", enc(EK8,"aaaabbbbccccdddd","我是中文abcd123",ID8)=="jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==")
m2="<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
exp8b="jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
check("afterAesEncrypt2", enc(EK8,"aaaabbbbccccdddd",m2,ID8)==exp8b)
