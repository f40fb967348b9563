//! Outposts through the services, on both stores: the service account's permissions come from
//! the provider plugins and are rebuilt from scratch on every change (spec §11.1), the token is
//! authentik's, the embedded outpost is reconciled at start, and a change reaches the bus only
//! after its commit.
use crate::common;

use std::time::Duration;

use garrison_bus::{Message, Topic};
use garrison_model::{
    ApplicationChanges, CertificateKeyPairChanges, EMBEDDED_OUTPOST_MANAGED, OutpostChanges,
    ProviderChanges, ProviderKind,
};
use garrison_services::Caller;
use garrison_services::outposts::GenerateCertificate;
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn settings(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

async fn proxy_provider(env: &common::Env, name: &str) -> i64 {
    let system = Caller::cli();
    let provider = env
        .services
        .create_provider(
            &system,
            ProviderKind::Proxy,
            ProviderChanges {
                name: Some(name.into()),
                settings: settings(json!({
                    "external_host": format!("https://{name}.example"),
                    "internal_host": "http://127.0.0.1:8080",
                })),
                ..Default::default()
            },
        )
        .await
        .expect("a proxy provider");
    env.services
        .create_application(
            &system,
            ApplicationChanges {
                name: Some(format!("{name} app")),
                slug: Some(format!("{name}-app")),
                provider: Some(Some(provider.pk)),
                ..Default::default()
            },
        )
        .await
        .expect("its application");
    provider.pk
}

fn sorted(mut grants: Vec<(String, String)>) -> Vec<(String, String)> {
    grants.sort();
    grants
}

fn grant(permission: &str, object: impl ToString) -> (String, String) {
    (permission.to_owned(), object.to_string())
}

both_stores!(
    an_outposts_account_holds_exactly_what_its_providers_need,
    |env: common::Env| async move {
        let system = Caller::cli();
        let s = &env.services;
        let first = proxy_provider(&env, "first").await;
        let outpost = s
            .create_outpost(
                &system,
                OutpostChanges {
                    name: Some("edge".into()),
                    outpost_type: Some(ProviderKind::Proxy),
                    providers: Some(vec![first]),
                    config: Some(json!({"authentik_host": "https://id.example"})),
                    ..Default::default()
                },
            )
            .await
            .expect("an outpost");
        let base = |extra: Vec<(String, String)>| {
            let mut all = vec![
                grant("authentik_events.add_event", ""),
                grant("authentik_outposts.view_outpost", outpost.pk),
            ];
            all.extend(extra);
            sorted(all)
        };
        assert_eq!(
            sorted(s.outpost_account_grants(&system, outpost.pk).await.unwrap()),
            base(vec![grant(
                "authentik_providers_proxy.view_proxyprovider",
                first
            )])
        );

        // A certificate on the provider: the account may now read it (spec §2).
        let certificate = s
            .generate_certificate(
                &system,
                GenerateCertificate {
                    common_name: "edge.example".into(),
                    subject_alt_name: Some("edge.example".into()),
                    validity_days: 30,
                    alg: Some("ecdsa".into()),
                },
            )
            .await
            .expect("a generated certificate");
        s.update_provider(
            &system,
            first,
            None,
            ProviderChanges {
                certificate: Some(Some(certificate.pk)),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            sorted(s.outpost_account_grants(&system, outpost.pk).await.unwrap()),
            base(vec![
                grant("authentik_crypto.view_certificatekeypair", certificate.pk),
                grant("authentik_providers_proxy.view_proxyprovider", first),
            ])
        );

        // Another provider replaces the first: nothing of the first is left.
        let second = proxy_provider(&env, "second").await;
        s.update_outpost(
            &system,
            outpost.pk,
            OutpostChanges {
                providers: Some(vec![second]),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            sorted(s.outpost_account_grants(&system, outpost.pk).await.unwrap()),
            base(vec![grant(
                "authentik_providers_proxy.view_proxyprovider",
                second
            )])
        );

        // A disabled plugin grants nothing new, keeps nothing, and says why on the outpost.
        let (status, _) = env
            .admin("POST", "/plugins/provider-proxy/disable/", None)
            .await;
        assert_eq!(status, axum::http::StatusCode::OK);
        s.update_provider(
            &system,
            second,
            None,
            ProviderChanges {
                settings: settings(json!({"cookie_domain": "example"})),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            sorted(s.outpost_account_grants(&system, outpost.pk).await.unwrap()),
            base(vec![])
        );
        let shown = s.get_outpost(&system, outpost.pk).await.unwrap();
        assert!(
            shown
                .expansion_error
                .as_deref()
                .is_some_and(|e| e.contains("no enabled plugin expands proxy")),
            "{:?}",
            shown.expansion_error
        );
    }
);

both_stores!(
    outposts_are_validated_as_authentik_validates_them,
    |env: common::Env| async move {
        let system = Caller::cli();
        let s = &env.services;
        let proxy = proxy_provider(&env, "web").await;
        let ldap = s
            .create_provider(
                &system,
                ProviderKind::Ldap,
                ProviderChanges {
                    name: Some("directory".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let create = |changes: OutpostChanges| s.create_outpost(&system, changes);
        let valid = || OutpostChanges {
            name: Some("edge".into()),
            outpost_type: Some(ProviderKind::Proxy),
            providers: Some(vec![proxy]),
            config: Some(json!({})),
            ..Default::default()
        };
        let field_of = |error: garrison_services::ServiceError| match error {
            garrison_services::ServiceError::Validation(errors) => errors.to_string(),
            other => panic!("expected a validation error, got {other}"),
        };
        let error = create(OutpostChanges {
            providers: Some(vec![proxy, ldap.pk]),
            ..valid()
        })
        .await
        .unwrap_err();
        assert!(field_of(error).contains("can't be used with LDAP Provider"));
        let error = create(OutpostChanges {
            providers: Some(vec![]),
            ..valid()
        })
        .await
        .unwrap_err();
        assert!(field_of(error).contains("may not be empty"));
        let error = create(OutpostChanges {
            config: Some(json!({"kubernetes_replicas": "three"})),
            ..valid()
        })
        .await
        .unwrap_err();
        assert!(field_of(error).contains("kubernetes_replicas"));
        let error = create(OutpostChanges {
            config: Some(json!("")),
            ..valid()
        })
        .await
        .unwrap_err();
        assert!(field_of(error).contains("config"));

        // The embedded outpost exists (reconciled at start) and its name is locked.
        let (status, list) = env
            .admin(
                "GET",
                &format!("/core/users/?username=ak-outpost-{}", Uuid::nil().simple()),
                None,
            )
            .await;
        assert_eq!(status, axum::http::StatusCode::OK, "{list}");
        let page = s
            .list_outposts(
                &system,
                &Default::default(),
                garrison_services::outposts::OutpostFilter {
                    managed_iexact: Some(EMBEDDED_OUTPOST_MANAGED.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let embedded = page.items.first().expect("the embedded outpost").clone();
        assert!(embedded.providers.is_empty(), "it may have no providers");
        let error = s
            .update_outpost(
                &system,
                embedded.pk,
                OutpostChanges {
                    name: Some("renamed".into()),
                    ..Default::default()
                },
                true,
            )
            .await
            .unwrap_err();
        assert!(field_of(error).contains("Embedded outpost's name cannot be changed"));
    }
);

both_stores!(
    an_outpost_has_authentiks_account_and_a_rotatable_token,
    |env: common::Env| async move {
        let system = Caller::cli();
        let s = &env.services;
        let provider = proxy_provider(&env, "web").await;
        let outpost = s
            .create_outpost(
                &system,
                OutpostChanges {
                    name: Some("edge".into()),
                    outpost_type: Some(ProviderKind::Proxy),
                    providers: Some(vec![provider]),
                    config: Some(json!({})),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let key = s.view_outpost_token(&system, outpost.pk).await.unwrap();
        let principal = s
            .authenticate_token(&key)
            .await
            .unwrap()
            .expect("the token authenticates");
        let account = principal.user().expect("a user").clone();
        assert_eq!(
            account.username,
            format!("ak-outpost-{}", outpost.pk.simple())
        );
        assert_eq!(
            account.user_type,
            garrison_model::UserType::InternalServiceAccount
        );
        assert_eq!(account.path, "goauthentik.io/outposts");
        let token = s
            .get_token(&system, &format!("ak-outpost-{}-api", outpost.pk))
            .await
            .unwrap();
        assert!(!token.expiring);
        assert_eq!(
            token.managed.as_deref(),
            Some(format!("goauthentik.io/outpost/ak-outpost-{}-api", outpost.pk).as_str())
        );

        // Rotation: the old key is dead at once, and replicas hear of it after the commit.
        let mut messages = s.bus().subscribe(Topic::Outposts).await.unwrap();
        let rotated = s.rotate_outpost_token(&system, outpost.pk).await.unwrap();
        assert_ne!(rotated, key);
        assert!(s.authenticate_token(&key).await.unwrap().is_none());
        assert!(s.authenticate_token(&rotated).await.unwrap().is_some());
        let heard = tokio::time::timeout(Duration::from_secs(5), messages.recv())
            .await
            .expect("announced")
            .unwrap();
        assert_eq!(
            heard.message,
            Message::OutpostTokenRotated {
                outpost: outpost.pk
            }
        );

        // Deleting the outpost deletes its account and so its token.
        s.delete_outpost(&system, outpost.pk).await.unwrap();
        assert!(s.authenticate_token(&rotated).await.unwrap().is_none());
    }
);

both_stores!(
    keypairs_keep_their_keys_sealed_and_shown_only_on_request,
    |env: common::Env| async move {
        let system = Caller::cli();
        let s = &env.services;
        let generated = s
            .generate_certificate(
                &system,
                GenerateCertificate {
                    common_name: "ca.example".into(),
                    subject_alt_name: None,
                    validity_days: 10,
                    alg: None,
                },
            )
            .await
            .expect("an RSA pair by default, as authentik");
        assert_eq!(generated.key_type.as_deref(), Some("rsa"));
        assert!(generated.private_key_available);
        let key = s
            .view_private_key(&system, generated.pk)
            .await
            .unwrap()
            .expect("a key");
        assert!(key.contains("PRIVATE KEY"));
        let certificate = s
            .view_certificate_data(&system, generated.pk)
            .await
            .unwrap();
        // Upload the same pair under another name; a key of another pair is refused.
        let other = s
            .generate_certificate(
                &system,
                GenerateCertificate {
                    common_name: "other.example".into(),
                    subject_alt_name: None,
                    validity_days: 10,
                    alg: Some("ecdsa".into()),
                },
            )
            .await
            .unwrap();
        let other_key = s
            .view_private_key(&system, other.pk)
            .await
            .unwrap()
            .unwrap();
        let error = s
            .create_certificate(
                &system,
                CertificateKeyPairChanges {
                    name: Some("mismatch".into()),
                    certificate_data: Some(certificate.clone()),
                    key_data: Some(other_key),
                },
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("key_data"), "{error}");
        let uploaded = s
            .create_certificate(
                &system,
                CertificateKeyPairChanges {
                    name: Some("uploaded".into()),
                    certificate_data: Some(certificate),
                    key_data: Some(key),
                },
            )
            .await
            .unwrap();
        assert_eq!(uploaded.fingerprint_sha256, generated.fingerprint_sha256);
        let (_, events) = env
            .admin("GET", "/events/events/?action=secret_view", None)
            .await;
        assert!(
            events["pagination"]["count"].as_u64().unwrap_or(0) >= 2,
            "each key view is recorded: {events}"
        );
        let (_, all) = env.admin("GET", "/events/events/", None).await;
        assert!(
            !all.to_string().contains("PRIVATE KEY"),
            "no key in any event"
        );
    }
);

both_stores!(
    a_lists_count_is_kept_only_until_a_write_here_or_on_another_replica,
    |env: common::Env| async move {
        use garrison_services::outposts::OutpostFilter;
        let count_on = |services: garrison_services::Services| async move {
            services
                .list_outposts(
                    &Caller::cli(),
                    &garrison_model::ListQuery::default(),
                    OutpostFilter::default(),
                )
                .await
                .expect("list outposts")
                .count
        };
        let (status, provider) = env
            .admin(
                "POST",
                "/providers/proxy/",
                Some(json!({"name": "counted", "external_host": "https://counted.example", "mode": "forward_single"})),
            )
            .await;
        assert_eq!(status, 201, "{provider}");
        let provider = provider["pk"].clone();
        let create = |name: &'static str| {
            let env = &env;
            let provider = provider.clone();
            async move {
                let (status, body) = env
                    .admin(
                        "POST",
                        "/outposts/instances/",
                        Some(json!({"name": name, "type": "proxy", "providers": [provider], "config": {}})),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
            }
        };
        let other = env.services.as_another_replica();
        other.follow_other_replicas();
        let here = env.services.clone();
        // Both replicas count (and keep the count of) the embedded outpost.
        let first = count_on(here.clone()).await;
        assert_eq!(count_on(other.clone()).await, first);
        // Give the other replica's subscription time to be in place before the write.
        tokio::time::sleep(Duration::from_millis(300)).await;

        create("counted-1").await;
        // This replica: at once, though the kept count had seconds to live.
        assert_eq!(count_on(here.clone()).await, first + 1);
        // The other: as soon as the message arrives, well before the count would expire.
        let asked = std::time::Instant::now();
        while count_on(other.clone()).await != first + 1 {
            assert!(
                asked.elapsed() < Duration::from_secs(2),
                "the other replica still counts {first} outposts"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The API's list (with its providers) reads the same kept count and its update.
        create("counted-2").await;
        let (_, listed) = env.admin("GET", "/outposts/instances/", None).await;
        assert_eq!(listed["pagination"]["count"], first + 2, "{listed}");
    }
);
