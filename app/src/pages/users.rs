use garrison_model::UserType;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{list_params, search_suffix};
use crate::components::{CsrfField, FieldError, FormError, LoadError, Pager, SearchBox};
use crate::functions::{SaveUser, get_user, list_users};

#[component]
pub fn UsersPage() -> impl IntoView {
    let (page, search) = list_params();
    let users = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_users(p, s),
    );
    view! {
        <Title text="Users · Garrison"/>
        <div class="page-head">
            <h1>"Users"</h1>
            <a class="button primary" href="/users/new">"New user"</a>
        </div>
        <SearchBox value=search.get_untracked()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || users.get().map(|result| match result {
                Ok(p) => {
                    let total = p.total_pages();
                    view! {
                        <table class="list" data-testid="users">
                            <thead><tr><th>"Username"</th><th>"Name"</th><th>"Email"</th><th>"Type"</th><th>"Active"</th><th>"Last login"</th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|u| view! {
                                    <tr>
                                        <td><a href=format!("/users/{}", u.pk)>{u.username.clone()}</a>
                                            {u.is_superuser.then(|| view! { <span class="badge">"superuser"</span> })}</td>
                                        <td>{u.name}</td>
                                        <td>{u.email}</td>
                                        <td>{u.user_type.as_str()}</td>
                                        <td>{if u.is_active { "yes" } else { "no" }}</td>
                                        <td>{u.last_login.map(|t| super::utc_time(t, false)).unwrap_or_else(|| "never".into())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager base="/users" page=p.request.page total_pages=total count=p.count query=search_suffix(&search.get_untracked())/>
                    }.into_any()
                }
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn UserFormPage() -> impl IntoView {
    let params = use_params_map();
    let pk = move || params.with(|p| p.get("pk").and_then(|v| v.parse::<i64>().ok()));
    let existing = Resource::new(pk, |pk| async move {
        match pk {
            Some(pk) => get_user(pk).await.map(Some),
            None => Ok(None),
        }
    });
    let save = ServerAction::<SaveUser>::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <Title text="User · Garrison"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || existing.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(user) => {
                    let editing = user.is_some();
                    let u = user.clone();
                    let field = move |f: fn(&garrison_model::User) -> String| u.as_ref().map(f).unwrap_or_default();
                    let user_type = user.as_ref().map(|u| u.user_type).unwrap_or_default();
                    let active = user.as_ref().is_none_or(|u| u.is_active);
                    view! {
                        <h1>{if editing { "Edit user" } else { "New user" }}</h1>
                        <ActionForm action=save attr:class="card form">
                            <CsrfField/>
                            {user.as_ref().map(|u| view! { <input type="hidden" name="pk" value=u.pk.to_string()/> })}
                            <FormError error/>
                            <label>"Username" <input type="text" name="username" required value=field(|u| u.username.clone())/></label>
                            <FieldError error field="username"/>
                            <label>"Name" <input type="text" name="name" value=field(|u| u.name.clone())/></label>
                            <FieldError error field="name"/>
                            <label>"Email" <input type="email" name="email" value=field(|u| u.email.clone())/></label>
                            <FieldError error field="email"/>
                            <label>"Type"
                                <select name="user_type">
                                    {UserType::ALL.into_iter().map(|t| view! {
                                        <option value=t.as_str() selected=t == user_type>{t.as_str()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <FieldError error field="user_type"/>
                            <label>"Path" <input type="text" name="path" value=user.as_ref().map(|u| u.path.clone()).unwrap_or_else(|| "users".into())/></label>
                            <FieldError error field="path"/>
                            <label class="check"><input type="checkbox" name="is_active" checked=active/>" Active"</label>
                            <label>{if editing { "New password (leave empty to keep)" } else { "Password (optional)" }}
                                <input type="password" name="password" autocomplete="new-password"/>
                            </label>
                            <FieldError error field="password"/>
                            <div class="actions">
                                <button type="submit" class="primary">"Save"</button>
                                <a href="/users">"Cancel"</a>
                            </div>
                        </ActionForm>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
