//! The browser entry point: hydrates the islands of the server-rendered
//! page. Everything else is plain HTML and ships no code.

// Link the app crate: its `#[island]`s export their hydration functions
// from there, and nothing here names them.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
