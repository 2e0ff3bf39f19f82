//! `/api/v1/namespaces/{namespace}/configmaps` and `/api/v1/configmaps`: ConfigMaps, through
//! the handlers of `objects.rs`; the kind's rules are its strategy's (`api::configmaps`).

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{json, Value};

use super::objects::Served;
use podspec_api::configmaps::ConfigMapStrategy;

impl Served for ConfigMapStrategy {
    fn from_protobuf(body: &[u8]) -> Result<ConfigMap, super::protobuf::ProtobufError> {
        super::protobuf::config_map(body)
    }

    /// NAME, DATA (how many keys, `data` and `binaryData` together), AGE.
    fn table(objects: &[Value], resource_version: &str, with_columns: bool, include_object: &str) -> Value {
        let count = |o: &Value| {
            let n = |f: &str| o[f].as_object().map_or(0, |m| m.len());
            json!(n("data") + n("binaryData"))
        };
        super::table::data_table(objects, false, count, resource_version, with_columns, include_object)
    }
}
