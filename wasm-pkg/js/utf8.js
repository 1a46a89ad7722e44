// UTF-8 for JavaScript runtimes without TextEncoder / TextDecoder (WeChat mini programs).
// scripts/build.mjs puts this in the mini program entry only, where these local classes
// shadow the missing globals for wasm-bindgen's glue and js/api.js. Invalid UTF-16 (a lone
// surrogate) encodes as U+FFFD, as the standard encoder does; each invalid UTF-8 byte decodes
// to one U+FFFD.

class MiniTextEncoder {
  get encoding() {
    return 'utf-8';
  }

  encode(text) {
    const out = new Uint8Array(text.length * 3);
    const { written } = this.encodeInto(text, out);
    return out.slice(0, written);
  }

  // Writes as much of `text` as fits whole into `view`.
  encodeInto(text, view) {
    let read = 0;
    let written = 0;
    const length = text.length;
    while (read < length) {
      let code = text.charCodeAt(read);
      let units = 1;
      if (code >= 0xd800 && code <= 0xdbff && read + 1 < length) {
        const low = text.charCodeAt(read + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          units = 2;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
      const bytes = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      if (written + bytes > view.length) break;
      if (bytes === 1) {
        view[written] = code;
      } else if (bytes === 2) {
        view[written] = 0xc0 | (code >> 6);
        view[written + 1] = 0x80 | (code & 0x3f);
      } else if (bytes === 3) {
        view[written] = 0xe0 | (code >> 12);
        view[written + 1] = 0x80 | ((code >> 6) & 0x3f);
        view[written + 2] = 0x80 | (code & 0x3f);
      } else {
        view[written] = 0xf0 | (code >> 18);
        view[written + 1] = 0x80 | ((code >> 12) & 0x3f);
        view[written + 2] = 0x80 | ((code >> 6) & 0x3f);
        view[written + 3] = 0x80 | (code & 0x3f);
      }
      written += bytes;
      read += units;
    }
    return { read, written };
  }
}

class MiniTextDecoder {
  get encoding() {
    return 'utf-8';
  }

  decode(bytes) {
    if (bytes === undefined) return '';
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer || bytes);
    let out = '';
    let chunk = [];
    let at = 0;
    while (at < view.length) {
      const first = view[at];
      let code = 0xfffd;
      let size = 1;
      const need = first < 0x80 ? 0 : first >= 0xc2 && first < 0xe0 ? 1 : first >= 0xe0 && first < 0xf0 ? 2 : first >= 0xf0 && first < 0xf5 ? 3 : -1;
      if (need === 0) {
        code = first;
      } else if (need > 0) {
        let value = first & (0x3f >> need);
        let ok = true;
        for (let i = 1; ok && i <= need; i++) {
          const next = view[at + i];
          if (next === undefined || (next & 0xc0) !== 0x80) ok = false;
          else value = (value << 6) | (next & 0x3f);
        }
        const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
        if (ok && value >= min && value <= 0x10ffff && !(value >= 0xd800 && value <= 0xdfff)) {
          code = value;
          size = need + 1;
        }
      }
      if (code > 0xffff) {
        code -= 0x10000;
        chunk.push(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
      } else {
        chunk.push(code);
      }
      at += size;
      if (chunk.length >= 4096) {
        out += String.fromCharCode.apply(null, chunk);
        chunk = [];
      }
    }
    return out + String.fromCharCode.apply(null, chunk);
  }
}
