// The fast lane into wasm for the hot calls (sign, verify, notify, XML). A call's texts
// are joined into one string, written into a scratch buffer in wasm memory by a single
// encodeInto (the engine's native UTF-8 encoder), and followed by each text's length
// in UTF-16 units as a 4-byte little-endian number (src/frame.rs splits them again). No
// number is formatted and no separator added; one encodeInto of the joined texts costs
// less than a JS loop over their characters or an encodeInto per text (measured:
// BENCHMARKS.md, issue #17). scripts/build.mjs puts this file before js/api.js.

function makeScratch(raw, encoder, decoder) {
  let base = 0; // the buffer's address in wasm memory
  let capacity = 0; // its size in bytes
  let memory = null;
  let bytes = new Uint8Array(0); // all of wasm memory; emptied when memory grows
  let input = bytes; // the buffer, for encodeInto (one view kept, not one made per call)

  function view() {
    if (bytes.length === 0) {
      if (memory === null) memory = raw.wasmMemory();
      bytes = new Uint8Array(memory.buffer);
      input = bytes.subarray(base, base + capacity);
    }
    return bytes;
  }

  // The buffer at `size` bytes or more. Recorded only once wasm has it: it may move (a
  // Vec grows) and may grow wasm memory (which detaches the old view).
  function resize(size) {
    base = raw.scratchBuffer(size);
    capacity = size;
    bytes = new Uint8Array(0);
  }

  // The texts of one call. Reading a call's params can run user code (a getter, a Proxy
  // trap) that calls the API again, so each nesting depth has its own frame; the buffer
  // is shared, but only `run` touches it, and no user code runs inside `run`.
  class Frame {
    constructor() {
      this.joined = '';
      this.lengths = [];
      this.count = 0;
    }

    reset() {
      this.joined = '';
      this.count = 0;
    }

    text(value) {
      // Joined texts must not join a lone high surrogate at one's end to a low one at the
      // next one's start: it becomes U+FFFD here, as encodeInto would make it on its own.
      // (charCodeAt past the start is NaN, which no mask makes 0xd800.)
      if ((value.charCodeAt(value.length - 1) & 0xfc00) === 0xd800) value = value.slice(0, -1) + '\uFFFD';
      this.joined += value;
      this.lengths[this.count++] = value.length;
    }

    // Writes the frame, runs `operation` on it and returns a view of its output, which is
    // at the buffer's start (an output longer than the buffer moved it: asked again).
    run(operation) {
      const { joined, lengths, count } = this;
      this.joined = '';
      const most = joined.length * 3;
      if (most + count * 4 > capacity) resize(Math.max(most + count * 4, capacity * 2, 1024));
      const out = view();
      // At most `most` bytes: the lengths after them fit in the capacity.
      const written = encoder.encodeInto(joined, input).written;
      let at = base + written;
      for (let i = 0; i < count; i++) {
        const length = lengths[i];
        out[at] = length;
        out[at + 1] = length >>> 8;
        out[at + 2] = length >>> 16;
        out[at + 3] = length >>> 24;
        at += 4;
      }
      const length = operation(written, count);
      if (length > capacity) resize(length);
      return view().subarray(base, base + length);
    }
  }

  const frames = [];
  let depth = 0;

  // The frame of a call starting now; `close` when the call is over, thrown or not.
  function open() {
    let frame = frames[depth];
    if (frame === undefined) frame = frames[depth] = new Frame();
    depth++;
    frame.reset();
    return frame;
  }

  function close() {
    depth--;
  }

  // An output that is a list (src/frame.rs `list`: the count, each text's length in
  // UTF-16 units, the texts joined as UTF-8) of keys and values, as an object. The joined
  // texts are decoded once and sliced.
  function object(out) {
    const number = (at) => (out[at] | (out[at + 1] << 8) | (out[at + 2] << 16) | (out[at + 3] << 24)) >>> 0;
    const count = number(0);
    const joined = decoder.decode(out.subarray(4 + 4 * count));
    const result = {};
    let from = 0;
    for (let i = 0; i < count; i += 2) {
      const keyEnd = from + number(4 + 4 * i);
      const valueEnd = keyEnd + number(8 + 4 * i);
      const key = joined.slice(from, keyEnd);
      const value = joined.slice(keyEnd, valueEnd);
      // A field named __proto__ is a field, not the object's prototype.
      if (key === '__proto__') Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      else result[key] = value;
      from = valueEnd;
    }
    return result;
  }

  return { open, close, object };
}
