//! The API's kinds: one generic store per kind, each registered with its strategy, all taking
//! their resourceVersions from one sequence. A new kind is one registration
//! ([`Api::register`]) and one handler file in `server/`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::events::{EventStore, EventStrategy};
use super::generic::{Object, Sequence, Store};
use super::namespaces::{NamespaceStore, NamespaceStrategy};
use super::nodes::{NodeStore, NodeStrategy};
use super::runtime_classes::{RuntimeClassStore, RuntimeClassStrategy};
use super::store::PodStore;
use super::strategy::{PodStrategy, Strategy};

/// The API of a node: its stores, by kind.
pub struct Api {
    sequence: Arc<Sequence>,
    /// Makes uids differ between APIs (runs).
    seed: String,
    kinds: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// The ServiceAccount tokens the API issued (TokenRequest).
    tokens: Arc<super::tokens::TokenIssuer>,
}

impl Api {
    /// An API with the kinds every node has: namespaces (the built-in ones made at
    /// `started`), nodes, pods, events, ConfigMaps and Secrets; ServiceAccounts and RBAC's four kinds
    /// (`rbac`); RuntimeClasses.
    pub fn new(seed: &str, started: jiff::Timestamp) -> Self {
        let api = Self { sequence: Arc::new(Sequence::default()), seed: seed.to_string(), kinds: Mutex::default(), tokens: Arc::default() };
        api.register_store(NamespaceStore::for_api(api.sequence.clone(), seed, started));
        api.register(NodeStrategy);
        api.register(PodStrategy);
        api.register_store(EventStore::for_api(api.sequence.clone()));
        api.register(super::configmaps::ConfigMapStrategy);
        api.register(super::secrets::SecretStrategy);
        super::rbac::register(&api);
        api.register(RuntimeClassStrategy);
        api
    }

    /// Registers a kind with its strategy: a store of its own over the API's sequence.
    pub fn register<S: Strategy>(&self, strategy: S) -> Arc<Store<S>>
    where
        S::Object: Object,
    {
        let seed = format!("{}/{}", self.seed, <S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT);
        self.register_store(Store::with_strategy(strategy, self.sequence.clone(), &seed))
    }

    /// Registers a store made for this API (over [`Api::sequence`]).
    pub fn register_store<S: Strategy>(&self, store: Store<S>) -> Arc<Store<S>>
    where
        S::Object: Object,
    {
        let store = Arc::new(store);
        let previous = self.kinds.lock().unwrap().insert(TypeId::of::<S>(), store.clone());
        assert!(previous.is_none(), "a kind is registered once");
        store
    }

    /// The store of a registered kind.
    pub fn store<S: Strategy>(&self) -> Arc<Store<S>>
    where
        S::Object: Object,
    {
        let kinds = self.kinds.lock().unwrap();
        let store = kinds.get(&TypeId::of::<S>()).cloned().expect("the kind is registered");
        store.downcast::<Store<S>>().expect("a store of its strategy")
    }

    /// The resourceVersion sequence every store of this API takes from.
    pub fn sequence(&self) -> &Arc<Sequence> {
        &self.sequence
    }

    /// The resourceVersion of the API's last change, of any kind.
    pub fn resource_version(&self) -> u64 {
        self.sequence.current()
    }

    pub fn pods(&self) -> Arc<PodStore> {
        self.store::<PodStrategy>()
    }

    pub fn events(&self) -> Arc<EventStore> {
        self.store::<EventStrategy>()
    }

    pub fn namespaces(&self) -> Arc<NamespaceStore> {
        self.store::<NamespaceStrategy>()
    }

    pub fn nodes(&self) -> Arc<NodeStore> {
        self.store::<NodeStrategy>()
    }

    pub fn runtime_classes(&self) -> Arc<RuntimeClassStore> {
        self.store::<RuntimeClassStrategy>()
    }

    pub fn config_maps(&self) -> Arc<super::configmaps::ConfigMapStore> {
        self.store::<super::configmaps::ConfigMapStrategy>()
    }

    pub fn secrets(&self) -> Arc<super::secrets::SecretStore> {
        self.store::<super::secrets::SecretStrategy>()
    }

    /// The ServiceAccount tokens the API issues and authenticates.
    pub fn tokens(&self) -> Arc<super::tokens::TokenIssuer> {
        self.tokens.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{pod_reference, Reporter, NORMAL};
    use crate::Requester;

    #[test]
    fn every_kind_takes_its_resource_versions_from_the_one_sequence() {
        let api = Api::new("t", jiff::Timestamp::now());
        let after_namespaces = api.resource_version();
        assert_eq!(after_namespaces, 4, "the four built-in namespaces");
        let pod: k8s_openapi::api::core::v1::Pod = serde_yaml::from_str(
            "metadata: {name: web, namespace: ns}\nspec:\n  nodeName: n\n  containers:\n  - {name: a, image: busybox}\n",
        )
        .unwrap();
        let p = api.pods().create(&pod, Requester::User).unwrap();
        let e = api.events().record(pod_reference(&p, None), &Reporter::scheduler(), NORMAL, "Scheduled", "x");
        assert_eq!(p.metadata.resource_version.as_deref(), Some("5"));
        assert_eq!(e.metadata.resource_version.as_deref(), Some("6"));
        assert_eq!((api.pods().resource_version(), api.resource_version()), (6, 6));
        // The pods' history starts at 5, but nothing of theirs was dropped: a watch from the
        // namespaces' resourceVersion 1 misses no pod change and is not Expired.
        assert!(api.pods().watch(Some(1), Box::new(|_| true)).is_ok());
    }
}
