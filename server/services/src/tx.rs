//! Transactions the services compose in.
//!
//! Every service function that writes has a core that takes the caller's [`Tx`]
//! (`create_group_in`, ...) and a thin wrapper that begins and commits one (`create_group`).
//! A blueprint applies hundreds of cores in one `Tx`; a plan runs them and rolls back.
//!
//! What must only happen once the change is durable (bus messages to other replicas, outpost
//! pushes, hook runs) is queued on the `Tx` with [`Tx::after_commit`] and carried out by
//! [`Services::commit`]. A rolled-back or dropped `Tx` carries out nothing.
use std::ops::{Deref, DerefMut};

use garrison_bus::Message;

use crate::{ServiceResult, Services};

/// A write transaction plus what to do once it commits. Dropping it rolls back.
pub struct Tx {
    inner: garrison_store::Tx,
    after_commit: Vec<Message>,
}

impl Tx {
    /// Queues `message` for the bus, to be published only after this transaction commits.
    /// Repeats of one message are sent once.
    pub(crate) fn after_commit(&mut self, message: Message) {
        if !self.after_commit.contains(&message) {
            self.after_commit.push(message);
        }
    }

    /// What would be sent on commit (tests and plans read it): what was queued, and
    /// `IdentitiesChanged` when the store flagged a change of who holds what.
    pub fn pending(&self) -> Vec<Message> {
        let mut pending = self.after_commit.clone();
        if self.inner.identities_changed() && !pending.contains(&Message::IdentitiesChanged) {
            pending.push(Message::IdentitiesChanged);
        }
        pending
    }

    /// Rolls back, dropping everything queued.
    pub async fn rollback(self) -> ServiceResult<()> {
        self.inner.rollback().await?;
        Ok(())
    }
}

// The store's write functions take a `garrison_store::Tx`; the services pass their own.
impl Deref for Tx {
    type Target = garrison_store::Tx;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Services {
    /// Begins a transaction for the `*_in` service functions.
    pub async fn begin(&self) -> ServiceResult<Tx> {
        Ok(Tx {
            inner: self.store().begin().await?,
            after_commit: Vec::new(),
        })
    }

    /// Commits, then carries out what was queued. A message that cannot be sent is logged: the
    /// change itself is durable, and replicas resynchronise from the store when they restart.
    pub async fn commit(&self, tx: Tx) -> ServiceResult<()> {
        let after_commit = tx.pending();
        let identities_changed = tx.inner.identities_changed();
        tx.inner.commit().await?;
        if identities_changed {
            // This replica at once; the others when the message below reaches them.
            self.principals().invalidate();
        }
        // Any write may change what a list counts: this replica at once, the others by the
        // message.
        self.counts().invalidate();
        for message in after_commit.into_iter().chain([Message::RecordsChanged]) {
            if let Err(error) = self.bus().publish(message.clone()).await {
                tracing::warn!(?message, %error, "a committed change was not announced to other replicas");
            }
        }
        Ok(())
    }
}
