//! The browser entry point: hydrates the server-rendered admin UI.
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(garrison_app::App);
}
