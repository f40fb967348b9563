//! The integrations page: service connections, where Garrison deploys outposts (a Docker
//! engine or a Kubernetes cluster), with what their deployment backend last learnt of them.
use garrison_model::{ServiceConnection, ServiceConnectionKind, ServiceConnectionState};
use leptos::prelude::*;
use leptos_meta::Title;

use super::{OtherFieldErrors, badge, list_params, search_suffix};
use crate::components::{CsrfField, FieldError, FormError, LoadError, Pager, SearchBox};
use crate::functions::{
    CreateDockerIntegration, CreateKubernetesIntegration, DeleteIntegration, IntegrationRow,
    list_integrations,
};

/// The fields the connection forms show errors next to; errors about others are listed apart.
const CONNECTION_FIELDS: &[&str] = &["name", "url", "kubeconfig", "local"];

fn state_badge(state: &Result<ServiceConnectionState, String>) -> impl IntoView + use<> {
    match state {
        Err(message) => view! {
            <span class="badge bad" title=message.clone()>"unreachable"</span>
            " " <span class="hint">{message.clone()}</span>
        }
        .into_any(),
        Ok(state) if state.healthy => view! {
            {badge("badge ok", "healthy".into())} " " {state.version.clone()}
        }
        .into_any(),
        Ok(state) if state.version.is_empty() => view! {
            <span class="badge muted" title="No deployment backend has checked it yet.">"unknown"</span>
        }
        .into_any(),
        Ok(state) => view! {
            {badge("badge bad", "unhealthy".into())} " " {state.version.clone()}
        }
        .into_any(),
    }
}

/// Where the connection points: the engine's address, or the cluster's credential.
fn target(connection: &ServiceConnection) -> impl IntoView + use<> {
    match connection.kind {
        ServiceConnectionKind::Docker => view! { <code>{connection.url.clone()}</code> }.into_any(),
        ServiceConnectionKind::Kubernetes if connection.has_kubeconfig => {
            view! { <span>"kubeconfig stored"</span> }.into_any()
        }
        ServiceConnectionKind::Kubernetes => {
            view! { <span>"the cluster Garrison runs in"</span> }.into_any()
        }
    }
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let (page, search) = list_params();
    let connections = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_integrations(p, s),
    );
    let docker = ServerAction::<CreateDockerIntegration>::new();
    let kubernetes = ServerAction::<CreateKubernetesIntegration>::new();
    let delete = ServerAction::<DeleteIntegration>::new();
    let docker_error = Signal::derive(move || docker.value().get().and_then(Result::err));
    let kubernetes_error = Signal::derive(move || kubernetes.value().get().and_then(Result::err));
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let docker_done = move || docker.value().get().is_some_and(|r| r.is_ok());
    let kubernetes_done = move || kubernetes.value().get().is_some_and(|r| r.is_ok());
    // None of these leave the page: the list loads again after each.
    Effect::new(move |_| {
        let deleted = delete.value().get().is_some_and(|r| r.is_ok());
        if docker_done() || kubernetes_done() || deleted {
            connections.refetch();
        }
    });
    view! {
        <Title text="Integrations · Garrison"/>
        <div class="page-head">
            <h1>"Integrations"</h1>
        </div>
        <p class="hint">"Service connections: where Garrison deploys outposts, a Docker engine or a \
           Kubernetes cluster. An outpost without one is deployed by you."</p>
        <SearchBox value=search.get_untracked()/>
        <FormError error=delete_error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || connections.get().map(|result| match result {
                Ok(p) => {
                    let total = p.total_pages();
                    view! {
                        <IntegrationTable rows=p.items delete/>
                        <Pager base="/integrations" page=p.request.page total_pages=total count=p.count query=search_suffix(&search.get_untracked())/>
                    }.into_any()
                }
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
        <div class="columns">
            <ActionForm action=docker attr:class="card form" attr:data-testid="create-docker">
                <h2>"Docker engine"</h2>
                <CsrfField/>
                <FormError error=docker_error/>
                <OtherFieldErrors error=docker_error shown=CONNECTION_FIELDS/>
                {move || docker_done().then(|| view! { <p class="notice" role="status">"Connection created."</p> })}
                <label>"Name" <input type="text" name="name" required/></label>
                <FieldError error=docker_error field="name"/>
                <label>"Engine address"
                    <input type="text" name="url" required placeholder="unix:///var/run/docker.sock"/>
                </label>
                <p class="hint">"unix:///var/run/docker.sock, tcp://host:2376, https://host:2376 or ssh://host."</p>
                <FieldError error=docker_error field="url"/>
                <label class="check"><input type="checkbox" name="local"/>" Local: the engine this server runs on"</label>
                <FieldError error=docker_error field="local"/>
                <div class="actions"><button type="submit" class="primary">"Add Docker engine"</button></div>
            </ActionForm>
            <ActionForm action=kubernetes attr:class="card form" attr:data-testid="create-kubernetes">
                <h2>"Kubernetes cluster"</h2>
                <CsrfField/>
                <FormError error=kubernetes_error/>
                <OtherFieldErrors error=kubernetes_error shown=CONNECTION_FIELDS/>
                {move || kubernetes_done().then(|| view! { <p class="notice" role="status">"Connection created."</p> })}
                <label>"Name" <input type="text" name="name" required/></label>
                <FieldError error=kubernetes_error field="name"/>
                <label>"Kubeconfig (JSON)"
                    <textarea name="kubeconfig" rows="8" spellcheck="false" placeholder="{ \"clusters\": […], \"contexts\": […], \"users\": […], \"current-context\": \"…\" }"></textarea>
                </label>
                <p class="hint">"The output of kubectl config view --raw -o json; it is stored sealed and \
                   never shown again. Leave it empty, with Local ticked, for the cluster this server runs in."</p>
                <FieldError error=kubernetes_error field="kubeconfig"/>
                <label class="check"><input type="checkbox" name="local"/>" Local: the cluster this server runs in"</label>
                <FieldError error=kubernetes_error field="local"/>
                <div class="actions"><button type="submit" class="primary">"Add Kubernetes cluster"</button></div>
            </ActionForm>
        </div>
    }
}

#[component]
fn IntegrationTable(
    rows: Vec<IntegrationRow>,
    delete: ServerAction<DeleteIntegration>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No service connections yet."</p>
                <p>"Add a Docker engine or a Kubernetes cluster below to have Garrison deploy \
                    outposts there; without one, you run outposts yourself with their token."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="integrations">
            <thead><tr>
                <th>"Name"</th><th>"Kind"</th><th>"Local"</th><th>"Target"</th><th>"State"</th><th></th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let c = row.connection;
                    let target = target(&c);
                    let state = state_badge(&row.state);
                    view! {
                        <tr>
                            <td>{c.name.clone()}</td>
                            <td>{c.kind.as_str()}</td>
                            <td>{if c.local { "yes" } else { "no" }}</td>
                            <td>{target}</td>
                            <td>{state}</td>
                            <td>
                                <ActionForm action=delete attr:class="inline">
                                    <CsrfField/>
                                    <input type="hidden" name="pk" value=c.pk.to_string()/>
                                    <button type="submit" class="danger">"Delete"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
