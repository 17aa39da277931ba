//! Watching one kind in one namespace (or at cluster scope) for as long as the caller polls.
//!
//! kube's `watcher` lists, then watches from the list's resourceVersion; a watch that ends
//! (the server's timeout, a dropped connection, an API server restart) is resumed from the last
//! resourceVersion seen, and one the server answers with 410 Gone (that version was compacted
//! away) starts over with a new list. Errors pause the stream with kube's default backoff
//! (0.8 s doubling to 30 s, with jitter), so a server that is down is not hammered.

use futures::{Stream, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};

use crate::client::Cluster;
use crate::resolve::Resolved;

/// What a watch reports.
#[derive(Debug)]
pub enum Change {
    /// The watch (re)starts with a list: the objects that follow in [`Change::Listed`] are every
    /// object there is, until [`Change::ListDone`].
    Relisting,
    Listed(DynamicObject),
    /// The list is complete: an object the caller knew that was not listed is gone.
    ListDone,
    /// An object was created or changed.
    Applied(DynamicObject),
    Deleted(DynamicObject),
    /// The watch failed and will be resumed (or restarted with a list) after a pause: the reason,
    /// in a sentence. A 410 Gone is one of these.
    Interrupted(String),
}

impl Cluster {
    /// Changes to objects of `resolved`'s kind in `namespace` (None: at cluster scope, for
    /// cluster-scoped kinds), with the credentials and impersonation of this cluster's client.
    /// The stream never ends on its own: drop it to stop watching.
    pub fn watch(&self, resolved: &Resolved, namespace: Option<&str>) -> impl Stream<Item = Change> + Send + 'static {
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resolved.resource),
            None => Api::all_with(self.client.clone(), &resolved.resource),
        };
        watcher(api, watcher::Config::default())
            .default_backoff()
            .map(|event| match event {
                Ok(watcher::Event::Init) => Change::Relisting,
                Ok(watcher::Event::InitApply(o)) => Change::Listed(o),
                Ok(watcher::Event::InitDone) => Change::ListDone,
                Ok(watcher::Event::Apply(o)) => Change::Applied(o),
                Ok(watcher::Event::Delete(o)) => Change::Deleted(o),
                Err(e) => Change::Interrupted(e.to_string()),
            })
    }
}
