//! Service calls compose inside one transaction (what blueprints and plans are built on), on
//! both stores: they commit together or not at all, and what waits for the commit (bus
//! messages to other replicas) never leaves a transaction that rolled back.
use crate::common;

use std::time::Duration;

use garrison_bus::{Message, Topic};
use garrison_model::{GroupChanges, UserChanges};
use garrison_services::Caller;

async fn group_names(env: &common::Env) -> Vec<String> {
    env.services
        .list_groups(&Caller::cli(), &Default::default(), Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|g| g.name)
        .collect()
}

async fn event_count(env: &common::Env) -> u64 {
    env.services
        .list_events(&Caller::cli(), &Default::default(), Default::default())
        .await
        .unwrap()
        .count
}

both_stores!(
    two_calls_in_one_transaction_roll_back_together,
    |env: common::Env| async move {
        let system = Caller::cli();
        let events_before = event_count(&env).await;
        let mut tx = env.services.begin().await.unwrap();
        let group = env
            .services
            .create_group_in(
                &mut tx,
                &system,
                GroupChanges {
                    name: Some("together".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("the first call succeeds");
        // The second call sees the first one's write inside the transaction ...
        let user = env
            .services
            .create_user_in(
                &mut tx,
                &system,
                UserChanges {
                    username: Some("member".into()),
                    groups: Some(vec![group.pk]),
                    ..Default::default()
                },
            )
            .await
            .expect("the group exists inside the transaction");
        assert_eq!(user.groups, vec![group.pk]);
        // ... and the third fails: the caller drops the transaction.
        let error = env
            .services
            .create_user_in(
                &mut tx,
                &system,
                UserChanges {
                    username: Some("member".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("unique"), "{error}");
        drop(tx);
        assert!(!group_names(&env).await.contains(&"together".to_owned()));
        let users = env
            .services
            .list_users(&system, &Default::default(), Default::default())
            .await
            .unwrap();
        assert!(users.items.iter().all(|u| u.username != "member"));
        assert_eq!(
            event_count(&env).await,
            events_before,
            "no event outlives its change"
        );
    }
);

both_stores!(
    a_rolled_back_transaction_sends_nothing_and_a_committed_one_does,
    |env: common::Env| async move {
        let system = Caller::cli();
        let mut messages = env
            .services
            .bus()
            .subscribe(Topic::Identities)
            .await
            .unwrap();
        let change = |name: &str| GroupChanges {
            name: Some(name.into()),
            users: Some(vec![]),
            ..Default::default()
        };

        let mut tx = env.services.begin().await.unwrap();
        env.services
            .create_group_in(&mut tx, &system, change("planned"))
            .await
            .unwrap();
        assert_eq!(
            tx.pending(),
            [Message::IdentitiesChanged],
            "queued, not sent"
        );
        tx.rollback().await.unwrap();
        let silent = tokio::time::timeout(Duration::from_millis(500), messages.recv()).await;
        assert!(silent.is_err(), "a rollback sends nothing: {silent:?}");

        let mut tx = env.services.begin().await.unwrap();
        env.services
            .create_group_in(&mut tx, &system, change("applied"))
            .await
            .unwrap();
        env.services.commit(tx).await.unwrap();
        let sent = tokio::time::timeout(Duration::from_secs(5), messages.recv())
            .await
            .expect("sent after the commit")
            .unwrap();
        assert_eq!(sent.message, Message::IdentitiesChanged);
        assert_eq!(sent.origin, env.services.bus().origin());
        assert!(group_names(&env).await.contains(&"applied".to_owned()));
        assert!(!group_names(&env).await.contains(&"planned".to_owned()));
    }
);

fn facts(kind: &str, certificate: bool) -> garrison_services::extensions::ProviderFacts {
    garrison_services::extensions::ProviderFacts {
        kind: kind.into(),
        pk: 42,
        name: format!("{kind}-provider"),
        attributes: serde_json::json!({}),
        certificate: certificate.then(|| ("cert-uuid".to_owned(), "cert".to_owned())),
    }
}

both_stores!(
    the_services_reach_provider_plugins_only_through_their_own_trait,
    |env: common::Env| async move {
        use garrison_services::extensions::{ExtensionError, Grant, OutpostFacts};
        let outpost = OutpostFacts {
            pk: "outpost-uuid".into(),
            name: "edge".into(),
            outpost_type: "ldap".into(),
        };
        // The binary installed the registry's plugins behind the services' trait at start.
        let grants = env
            .services
            .required_permissions(&facts("ldap", true), &outpost)
            .await
            .expect("the built-in LDAP expansion answers");
        let on = |model: &str, pk: &str| Some((model.to_owned(), pk.to_owned()));
        assert_eq!(
            grants,
            vec![
                Grant {
                    permission: "authentik_core.view_group".into(),
                    object: None
                },
                Grant {
                    permission: "authentik_core.view_user".into(),
                    object: None
                },
                Grant {
                    permission: "authentik_crypto.view_certificatekeypair".into(),
                    object: on("authentik_crypto.certificatekeypair", "cert-uuid"),
                },
                Grant {
                    permission: "authentik_providers_ldap.view_ldapprovider".into(),
                    object: on("authentik_providers_ldap.ldapprovider", "42"),
                },
            ]
        );
        // A disabled plugin expands nothing, and says so.
        let (status, _) = env
            .admin("POST", "/plugins/provider-ldap/disable/", None)
            .await;
        assert_eq!(status, axum::http::StatusCode::OK);
        let error = env
            .services
            .required_permissions(&facts("ldap", false), &outpost)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ExtensionError::NoPlugin {
                kind: "ldap".into()
            }
        );
    }
);
