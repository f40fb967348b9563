//! The registry's implementations of the traits the services own: provider plugins expand an
//! outpost's permissions, policy plugins evaluate hooks. Wired in by the binary at start.
use garrison_plugin_host::{Event, ObjectRef, OutpostInfo, ProviderInfo, ProviderPlugin};
use garrison_services::extensions::{
    ExtensionError, ExtensionFuture, Grant, HookDecision, HookEvent, OutpostFacts,
    PermissionExpansion, PolicyHooks, ProviderFacts,
};

use std::sync::Weak;

use crate::{Inner, Loaded, Registry};

/// The registry as the services see it. Weak: the services outlive no registry they call,
/// and a registry must not be kept alive by the services it records through.
pub(crate) struct PluginExtensions(pub(crate) Weak<Inner>);

impl PluginExtensions {
    fn registry(&self) -> Result<Registry, ExtensionError> {
        self.0
            .upgrade()
            .map(|inner| Registry { inner })
            .ok_or_else(|| ExtensionError::NotInstalled {
                what: "plugins (the registry has stopped)".into(),
            })
    }
}

fn failed(plugin: &str, error: impl std::fmt::Display) -> ExtensionError {
    ExtensionError::Failed {
        plugin: plugin.to_owned(),
        message: error.to_string(),
    }
}

impl Registry {
    /// The running provider plugin that expands `kind`: one that says so (WIT 0.2.0), else
    /// the one named `provider-<kind>` (0.1.0 plugins cannot say).
    async fn expander_for(&self, kind: &str) -> Option<ProviderPlugin> {
        let providers = self.providers();
        for plugin in &providers {
            if let Ok(Some(kinds)) = plugin.provider_kinds().await {
                if kinds.iter().any(|k| k == kind) {
                    return Some(plugin.clone());
                }
            }
        }
        let conventional = format!("provider-{kind}");
        providers
            .into_iter()
            .find(|p| p.manifest().name == conventional)
    }
}

impl PermissionExpansion for PluginExtensions {
    fn required_permissions<'a>(
        &'a self,
        provider: &'a ProviderFacts,
        outpost: &'a OutpostFacts,
    ) -> ExtensionFuture<'a, Vec<Grant>> {
        Box::pin(async move {
            let plugin = self
                .registry()?
                .expander_for(&provider.kind)
                .await
                .ok_or_else(|| ExtensionError::NoPlugin {
                    kind: provider.kind.clone(),
                })?;
            let name = plugin.manifest().name.clone();
            let info = ProviderInfo {
                kind: provider.kind.clone(),
                pk: provider.pk,
                name: provider.name.clone(),
                attributes: provider.attributes.to_string(),
                certificate: provider.certificate.as_ref().map(|(pk, name)| {
                    garrison_plugin_host::Certificate {
                        pk: pk.clone(),
                        name: name.clone(),
                    }
                }),
            };
            let outpost = OutpostInfo {
                pk: outpost.pk.clone(),
                name: outpost.name.clone(),
                outpost_type: outpost.outpost_type.clone(),
            };
            let grants = plugin
                .required_permissions(&info, &outpost)
                .await
                .map_err(|e| failed(&name, e))?;
            Ok(grants
                .into_iter()
                .map(|g| Grant {
                    permission: g.permission,
                    object: g.object.map(|ObjectRef { model, pk }| (model, pk)),
                })
                .collect())
        })
    }
}

impl PolicyHooks for PluginExtensions {
    /// Every running policy plugin, in name order. A hook that errs, times out or traps is a
    /// failed decision (hooks fail closed), never a pass.
    fn evaluate<'a>(&'a self, event: &'a HookEvent) -> ExtensionFuture<'a, Vec<HookDecision>> {
        Box::pin(async move {
            let wire = Event {
                kind: event.trigger.as_str().to_owned(),
                username: event.username.clone(),
                groups: event.groups.clone(),
                context: event.context.to_string(),
            };
            let mut decisions = Vec::new();
            for plugin in self.registry()?.running(|loaded| match loaded {
                Loaded::Policy(p) => Some(p.clone()),
                _ => None,
            }) {
                let name = plugin.manifest().name.clone();
                decisions.push(match plugin.evaluate(&wire).await {
                    Ok(decision) => HookDecision {
                        plugin: name,
                        pass: decision.pass,
                        messages: decision.messages,
                    },
                    Err(error) => HookDecision {
                        plugin: name,
                        pass: false,
                        messages: vec![error.to_string()],
                    },
                });
            }
            Ok(decisions)
        })
    }
}
