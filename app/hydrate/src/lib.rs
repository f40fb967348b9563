//! The browser entry point: hydrates the server-rendered admin UI.
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(garrison_app::App);
    // Marks the page as interactive; the browser test waits for it, so a bundle that fails to
    // hydrate fails the test instead of silently degrading to server-rendered pages.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
