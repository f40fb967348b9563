use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{list_params, search_suffix};
use crate::components::{CsrfField, FieldError, FormError, LoadError, Pager, SearchBox};
use crate::functions::{SaveGroup, get_group, list_groups};

#[component]
pub fn GroupsPage() -> impl IntoView {
    let (page, search) = list_params();
    let groups = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_groups(p, s),
    );
    view! {
        <Title text="Groups · Garrison"/>
        <div class="page-head">
            <h1>"Groups"</h1>
            <a class="button primary" href="/groups/new">"New group"</a>
        </div>
        <SearchBox value=search.get_untracked()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || groups.get().map(|result| match result {
                Ok(p) => {
                    let total = p.total_pages();
                    view! {
                        <table class="list" data-testid="groups">
                            <thead><tr><th>"Name"</th><th>"Superuser"</th><th>"Members"</th><th>"Parents"</th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|g| view! {
                                    <tr>
                                        <td><a href=format!("/groups/{}", g.pk)>{g.name.clone()}</a></td>
                                        <td>{if g.is_superuser { "yes" } else { "no" }}</td>
                                        <td>{g.users.len()}</td>
                                        <td>{g.parents.len()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager base="/groups" page=p.request.page total_pages=total count=p.count query=search_suffix(&search.get_untracked())/>
                    }.into_any()
                }
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn GroupFormPage() -> impl IntoView {
    let params = use_params_map();
    let pk = move || params.with(|p| p.get("pk"));
    let existing = Resource::new(pk, |pk| async move {
        match pk {
            Some(pk) => get_group(pk).await.map(Some),
            None => Ok(None),
        }
    });
    let save = ServerAction::<SaveGroup>::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <Title text="Group · Garrison"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || existing.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(group) => {
                    let editing = group.is_some();
                    let attributes = group
                        .as_ref()
                        .map(|g| serde_json::to_string_pretty(&g.attributes).unwrap_or_default())
                        .unwrap_or_else(|| "{}".into());
                    view! {
                        <h1>{if editing { "Edit group" } else { "New group" }}</h1>
                        <ActionForm action=save attr:class="card form">
                            <CsrfField/>
                            {group.as_ref().map(|g| view! { <input type="hidden" name="pk" value=g.pk.to_string()/> })}
                            <FormError error/>
                            <label>"Name" <input type="text" name="name" required value=group.as_ref().map(|g| g.name.clone()).unwrap_or_default()/></label>
                            <FieldError error field="name"/>
                            <label class="check">
                                <input type="checkbox" name="is_superuser" checked=group.as_ref().is_some_and(|g| g.is_superuser)/>
                                " Superuser group (members hold every permission)"
                            </label>
                            <FieldError error field="is_superuser"/>
                            <label>"Attributes (JSON)" <textarea name="attributes" rows="6">{attributes}</textarea></label>
                            <FieldError error field="attributes"/>
                            <div class="actions">
                                <button type="submit" class="primary">"Save"</button>
                                <a href="/groups">"Cancel"</a>
                            </div>
                        </ActionForm>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
