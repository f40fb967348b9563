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
