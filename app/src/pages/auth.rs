use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{CsrfField, FieldError, FormError};
use crate::functions::{CompleteSetup, Login, setup_token_valid};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = Signal::derive(move || login.value().get().and_then(Result::err));
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".into()));
    let setup_done = move || query.with(|q| q.get("setup").is_some());
    view! {
        <Title text="Log in · Garrison"/>
        <main class="auth">
            <h1>"Garrison"</h1>
            {move || setup_done().then(|| view! { <p class="notice">"Administrator created. Log in with it now."</p> })}
            // A plain form, not an ActionForm: logging in is a full page load, so the pages
            // after it carry the CSRF token bound to the new session. Errors come back in the
            // URL, which the action reads.
            <form method="post" action="/ui-fn/login" class="card">
                <CsrfField/>
                <input type="hidden" name="next" value=next/>
                <FormError error/>
                <label>"Username"
                    <input type="text" name="username" autocomplete="username" required autofocus/>
                </label>
                <FieldError error field="username"/>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <FieldError error field="password"/>
                <button type="submit" class="primary">"Log in"</button>
            </form>
        </main>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let valid = Resource::new(token, setup_token_valid);
    let setup = ServerAction::<CompleteSetup>::new();
    let error = Signal::derive(move || setup.value().get().and_then(Result::err));
    view! {
        <Title text="Set up · Garrison"/>
        <main class="auth">
            <h1>"Set up Garrison"</h1>
            <Suspense fallback=|| view! { <p>"Checking the link…"</p> }>
                {move || valid.get().map(|ok| match ok {
                    Ok(true) => view! {
                        <ActionForm action=setup attr:class="card">
                            <CsrfField/>
                            <input type="hidden" name="token" value=token/>
                            <p>"Create the first administrator. This link works once."</p>
                            <FormError error/>
                            <label>"Username" <input type="text" name="username" value="akadmin" required/></label>
                            <FieldError error field="username"/>
                            <label>"Password" <input type="password" name="password" autocomplete="new-password" required minlength="8"/></label>
                            <FieldError error field="password"/>
                            <button type="submit" class="primary">"Create administrator"</button>
                        </ActionForm>
                    }.into_any(),
                    _ => view! {
                        <p class="form-error">"This setup link is invalid or has already been used."</p>
                        <p><a href="/login">"Go to the login page"</a></p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}
