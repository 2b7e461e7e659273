//! The browser entry point: hydrates the islands of the server-rendered
//! page. Everything else is plain HTML and ships no code.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
