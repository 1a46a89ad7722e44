//! The fast lane between JavaScript and wasm for the hot calls (sign, verify, notify,
//! XML): JS writes its input straight into a scratch buffer inside wasm memory as a
//! frame of texts (`frame.rs`), the call reads it there and writes its output back
//! there. wasm-bindgen's general string passing copies ASCII text one character at a
//! time in JS and then again, which cost more than the signing itself (BENCHMARKS.md).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::errors::WxError;
use crate::frame::Frame;

thread_local! {
    // wasm32 runs one thread: this is simply the module's buffer.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The buffer's address, grown to at least `capacity` bytes. JS writes its input here.
/// Call again after each operation: an output longer than the buffer moves it.
#[wasm_bindgen(js_name = scratchBuffer)]
pub fn scratch_buffer(capacity: usize) -> *mut u8 {
    SCRATCH.with(|scratch| {
        let mut buffer = scratch.borrow_mut();
        if buffer.len() < capacity {
            buffer.resize(capacity, 0);
        }
        buffer.as_mut_ptr()
    })
}

/// The module's memory, so JS can view the scratch buffer.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Runs `operation` on the frame at the start of the buffer (`text_len` bytes of texts,
/// then `count` lengths) and puts its output at the start of the buffer. Returns the
/// output's length in bytes.
pub(crate) fn run<Output: AsRef<[u8]>>(
    text_len: usize,
    count: usize,
    operation: impl FnOnce(Frame<'_>) -> Result<Output, WxError>,
) -> Result<usize, JsValue> {
    let output = SCRATCH.with(|scratch| {
        let buffer = scratch.borrow();
        operation(Frame::new(&buffer, text_len, count)?)
    })?;
    let output = output.as_ref();
    SCRATCH.with(|scratch| {
        let mut buffer = scratch.borrow_mut();
        if buffer.len() < output.len() {
            buffer.resize(output.len(), 0);
        }
        if let Some(slot) = buffer.get_mut(..output.len()) {
            slot.copy_from_slice(output);
        }
    });
    Ok(output.len())
}
